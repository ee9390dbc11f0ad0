"""The Stripe webhook: ``POST /stripe/webhook/``, called by Stripe, not by a signed-in person."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.services.webhooks import WebhookSignatureInvalid, stripe_event_receive


def _too_large(request: HttpRequest) -> bool:
    limit = settings.STRIPE_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    # The declared length first, so an oversized body is never read; then what came.
    return declared > limit or len(request.body) > limit


@csrf_exempt  # Stripe cannot send our CSRF token; the signature is what authenticates it.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    if _too_large(request):
        return HttpResponse("too large", status=413, content_type="text/plain")
    signature = request.headers.get("Stripe-Signature", "")
    try:
        event = stripe_event_receive(payload=request.body, signature=signature)
    except WebhookSignatureInvalid:
        return HttpResponse("invalid signature", status=400, content_type="text/plain")
    if event.processed_at is None:
        # Stored, but the order could not be settled (Stripe unreachable): Stripe retries on 5xx.
        return HttpResponse("not processed yet", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
