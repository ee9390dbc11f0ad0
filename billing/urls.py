from __future__ import annotations

from django.urls import path

from partnerportal.views import coming_soon

app_name = "billing"

urlpatterns = [
    path("partnership/offers/", coming_soon, name="offers"),
    path("partnership/benefits/", coming_soon, name="benefits"),
    path("partnership/membership/", coming_soon, name="membership"),
    path("billing/payment-methods/", coming_soon, name="payment_methods"),
    path("billing/orders/", coming_soon, name="orders"),
]
