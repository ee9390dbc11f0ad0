from __future__ import annotations

from django.urls import path

from billing.views import benefits as benefit_views
from billing.views import checkout as checkout_views
from billing.views import invoices as invoice_views
from billing.views import membership as membership_views
from billing.views import offers as offer_views
from billing.views import orders as order_views
from billing.views import payment_methods as payment_method_views
from billing.views import renew as renew_views
from billing.views import subscribe as subscribe_views
from billing.views import subscriptions as subscription_views
from billing.views import webhooks as webhook_views

app_name = "billing"

urlpatterns = [
    path("partnership/offers/", offer_views.offers, name="offers"),
    # The subscribe wizard (by offer), then the order-level steps shared with renewals.
    path(
        "partnership/offers/<int:offer_id>/subscribe/",
        subscribe_views.subscribe_terms,
        name="subscribe_terms",
    ),
    path(
        "partnership/offers/<int:offer_id>/subscribe/payment/",
        subscribe_views.subscribe_payment,
        name="subscribe_payment",
    ),
    path(
        "partnership/offers/<int:offer_id>/subscribe/review/",
        subscribe_views.subscribe_review,
        name="subscribe_review",
    ),
    path(
        "partnership/orders/<int:order_id>/add-card/",
        checkout_views.order_add_card,
        name="order_add_card",
    ),
    path(
        "partnership/orders/<int:order_id>/purchase/",
        checkout_views.order_purchase,
        name="order_purchase",
    ),
    path(
        "partnership/orders/<int:order_id>/authenticate/",
        checkout_views.order_authenticate,
        name="order_authenticate",
    ),
    path(
        "partnership/orders/<int:order_id>/authenticated/",
        checkout_views.order_authenticated,
        name="order_authenticated",
    ),
    path(
        "partnership/orders/<int:order_id>/status/",
        checkout_views.order_status,
        name="order_status",
    ),
    path(
        "partnership/orders/<int:order_id>/confirmed/",
        checkout_views.order_confirmed,
        name="order_confirmed",
    ),
    # A purchased offer and its actions.
    path(
        "partnership/subscriptions/<int:subscription_id>/",
        subscription_views.subscription_detail,
        name="subscription",
    ),
    path(
        "partnership/subscriptions/<int:subscription_id>/auto-renew/off/",
        subscription_views.subscription_auto_renew_off,
        name="subscription_auto_renew_off",
    ),
    path(
        "partnership/subscriptions/<int:subscription_id>/payment-method/",
        subscription_views.subscription_payment_method,
        name="subscription_payment_method",
    ),
    path(
        "partnership/subscriptions/<int:subscription_id>/payment-method/add/",
        subscription_views.subscription_add_card,
        name="subscription_add_card",
    ),
    path(
        "partnership/subscriptions/<int:subscription_id>/cancel/",
        subscription_views.subscription_cancel,
        name="subscription_cancel",
    ),
    # The renew wizard (by subscription).
    path(
        "partnership/subscriptions/<int:subscription_id>/renew/",
        renew_views.renew_details,
        name="renew_details",
    ),
    path(
        "partnership/subscriptions/<int:subscription_id>/renew/terms/",
        renew_views.renew_terms,
        name="renew_terms",
    ),
    path(
        "partnership/subscriptions/<int:subscription_id>/renew/payment/",
        renew_views.renew_payment,
        name="renew_payment",
    ),
    path(
        "partnership/subscriptions/<int:subscription_id>/renew/review/",
        renew_views.renew_review,
        name="renew_review",
    ),
    path("partnership/benefits/", benefit_views.benefits, name="benefits"),
    path(
        "partnership/benefits/<int:grant_id>/get-key/",
        benefit_views.benefit_get_key,
        name="benefit_get_key",
    ),
    path(
        "partnership/benefits/<int:grant_id>/activate/",
        benefit_views.benefit_activate,
        name="benefit_activate",
    ),
    path(
        "partnership/benefits/<int:grant_id>/assign/",
        benefit_views.benefit_assign,
        name="benefit_assign",
    ),
    path(
        "partnership/benefits/assignments/<int:assignment_id>/remove/",
        benefit_views.benefit_unassign,
        name="benefit_unassign",
    ),
    path(
        "partnership/benefits/assignments/<int:assignment_id>/reassign/",
        benefit_views.benefit_reassign,
        name="benefit_reassign",
    ),
    path("partnership/membership/", membership_views.membership, name="membership"),
    path(
        "billing/payment-methods/",
        payment_method_views.payment_methods,
        name="payment_methods",
    ),
    path(
        "billing/payment-methods/add/",
        payment_method_views.payment_method_add,
        name="payment_method_add",
    ),
    # Card entry asks for its SetupIntent here once the partner starts typing (never on view).
    path(
        "billing/payment-methods/card-setup/",
        payment_method_views.card_setup,
        name="card_setup",
    ),
    path(
        "partnership/card-setup/",
        checkout_views.purchase_card_setup,
        name="purchase_card_setup",
    ),
    path(
        "billing/payment-methods/<int:payment_method_id>/make-default/",
        payment_method_views.payment_method_make_default,
        name="payment_method_make_default",
    ),
    path(
        "billing/payment-methods/<int:payment_method_id>/remove/",
        payment_method_views.payment_method_remove,
        name="payment_method_remove",
    ),
    path("billing/orders/", order_views.orders, name="orders"),
    path("billing/invoices/", invoice_views.invoices, name="invoices"),
    path("billing/invoices/<int:invoice_id>/", invoice_views.invoice, name="invoice"),
    path(
        "billing/invoices/<int:invoice_id>/pdf/",
        invoice_views.invoice_pdf_download,
        name="invoice_pdf",
    ),
    path("stripe/webhook/", webhook_views.stripe_webhook, name="stripe_webhook"),
]
