"""Two staff clicks on the same refund at the same moment: one refund in Stripe, one credit
note. Real concurrent transactions need PostgreSQL (DATABASE_URL, as CI has it); on SQLite the
test is skipped unless REQUIRE_SERVICES says nothing may be."""

from __future__ import annotations

from billing.models import Invoice, InvoiceKind, Refund
from tests.billing.cancellation_setup import purchase_order, subscription_bought
from tests.billing.test_purchase_concurrency import postgresql, run_together  # noqa: F401
from tests.plugins.people import client_for
from tests.support.admin_forms import form_data
from tests.support.staff import billing_specialist_create


def test_a_double_click_at_once_refunds_once_and_issues_one_credit_note(
    localstripe, contoso, offer, bob
):
    bought = subscription_bought(localstripe, contoso, offer, bob)
    staff = billing_specialist_create()
    url = f"/admin/billing/subscription/{bought.pk}/cancel/"
    clicks = [client_for(staff), client_for(staff)]
    data = form_data(clicks[0].get(url).content.decode(), "cancel-subscription-form")
    data.update({"reason": "Bought by mistake"})

    statuses = run_together(lambda client: str(client.post(url, data).status_code), clicks)

    assert "302" in statuses
    assert Refund.objects.count() == 1
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1
    order = purchase_order(bought)
    assert len(localstripe.refunds(payment_intent=order.stripe_payment_intent_id)) == 1
