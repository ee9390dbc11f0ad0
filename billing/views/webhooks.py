"""The Stripe webhook: ``POST /stripe/webhook/``, called by Stripe, not by a signed-in person."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.services.webhooks import WebhookSignatureInvalid, stripe_event_receive


@csrf_exempt  # Stripe cannot send our CSRF token; the signature is what authenticates it.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    signature = request.headers.get("Stripe-Signature", "")
    try:
        event = stripe_event_receive(payload=request.body, signature=signature)
    except WebhookSignatureInvalid:
        return HttpResponse("invalid signature", status=400, content_type="text/plain")
    if event.processed_at is None:
        # Stored, but the order could not be settled (Stripe unreachable): Stripe retries on 5xx.
        return HttpResponse("not processed yet", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
