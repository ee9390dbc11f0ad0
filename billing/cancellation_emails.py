"""The email telling a partner their subscription was canceled (and refunded)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse

from core.emails import absolute_url, email_send
from membership.models import User

if TYPE_CHECKING:
    from billing.services.cancellations import CancellationOutcome


def subscription_canceled_email(*, outcome: CancellationOutcome, recipients: list[User]) -> int:
    subscription = outcome.subscription
    refund = outcome.refund
    return email_send(
        "billing_subscription_canceled",
        recipients=recipients,
        context={
            "subscription": subscription,
            "offer": subscription.offer,
            "organization": subscription.organization,
            "at_term_end": outcome.at_term_end,
            "ends_on": outcome.ends_on,
            "refund": refund,
            "card_last4": refund.order.card_last4 if refund is not None else "",
            "offers_url": absolute_url(reverse("billing:offers")),
        },
    )
