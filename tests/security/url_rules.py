"""Every URL of the project, and the rule the security walkers test it with.

``RULES`` maps a URL name to how to reach a Contoso object through it (the URL's id kwargs, and
form data for views that take an id from the form). ``EXEMPT`` lists the URLs that are public or
guarded otherwise, each with its reason. A URL in neither makes tests/security/test_boundaries.py
fail, so a new page cannot ship without its organization and role checks being tested.

Adding a URL? Add a line to ``RULES``:
    "billing:invoice": Rule(kwargs=lambda w: {"invoice_id": w.invoice.pk}),
building the object in tests/security/world.py if it is new. The method is read from the view's
``require_POST`` / ``require_http_methods`` (GET when it allows GET); set ``method=`` to override.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from membership.permissions import Action
from tests.security.world import World

Build = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    kwargs: Build | None = None  # the URL's ids
    data: Build | None = None  # form data, for views that take an id from the form
    method: str | None = None
    # The object is not the organization's (the shared offer catalog): no 404 to prove.
    shared: str = ""
    # Why the view is not behind member_required, if it is not.
    role_free: str = ""

    def url_kwargs(self, world: World) -> dict[str, Any]:
        return self.kwargs(world) if self.kwargs else {}

    def form_data(self, world: World) -> dict[str, Any]:
        return self.data(world) if self.data else {}

    @property
    def points_at_an_object(self) -> bool:
        return bool(self.kwargs or self.data) and not self.shared


# Why the sign-in and security pages take no role: they are about the signed-in person only.
SELF = "every person manages their own second factors; objects are looked up among their own"

RULES: dict[str, Rule] = {
    "dashboard": Rule(),
    # --- membership: people and the organization profile ---
    "membership:switch_organization": Rule(
        data=lambda w: {"organization": w.contoso.pk},
        role_free="any member switches among their own organizations; the form's id is checked",
    ),
    "membership:users": Rule(),
    "membership:user_add": Rule(),
    "membership:user_edit": Rule(kwargs=lambda w: {"membership_id": w.member.pk}),
    # GET is the confirmation page (walked here and by tests/accessibility); POST removes
    # (tests/membership/test_user_remove.py, test_team_role_matrix.py).
    "membership:user_remove": Rule(kwargs=lambda w: {"membership_id": w.member.pk}),
    "membership:invitation_resend": Rule(kwargs=lambda w: {"invitation_id": w.invitation.pk}),
    "membership:invitation_cancel": Rule(kwargs=lambda w: {"invitation_id": w.invitation.pk}),
    "membership:profile": Rule(),
    "membership:user_reset_second_factor": Rule(kwargs=lambda w: {"membership_id": w.member.pk}),
    # --- sign-in and security: one's own second factors (allauth.mfa, membership/urls.py) ---
    "membership:second_factor_setup": Rule(role_free=SELF),
    "mfa_index": Rule(role_free=SELF),
    "mfa_reauthenticate": Rule(role_free=SELF),
    "mfa_reauthenticate_webauthn": Rule(role_free=SELF),
    "mfa_activate_totp": Rule(role_free=SELF),
    "mfa_deactivate_totp": Rule(role_free=SELF),
    "mfa_view_recovery_codes": Rule(role_free=SELF),
    "mfa_generate_recovery_codes": Rule(role_free=SELF),
    "mfa_download_recovery_codes": Rule(role_free=SELF),
    "mfa_list_webauthn": Rule(role_free=SELF),
    "mfa_add_webauthn": Rule(role_free=SELF),
    # A passkey is the person's own: another person's id (even in the same organization) is 404.
    "mfa_remove_webauthn": Rule(kwargs=lambda w: {"pk": w.passkey.pk}, role_free=SELF),
    "mfa_edit_webauthn": Rule(kwargs=lambda w: {"pk": w.passkey.pk}, role_free=SELF),
    # --- billing: offers, subscribing, checkout ---
    "billing:offers": Rule(),
    "billing:subscribe_terms": Rule(
        kwargs=lambda w: {"offer_id": w.offer.pk}, shared="offers are one catalog for everyone"
    ),
    "billing:subscribe_payment": Rule(
        kwargs=lambda w: {"offer_id": w.offer.pk}, shared="offers are one catalog for everyone"
    ),
    "billing:subscribe_review": Rule(
        kwargs=lambda w: {"offer_id": w.offer.pk}, shared="offers are one catalog for everyone"
    ),
    "billing:order_add_card": Rule(kwargs=lambda w: {"order_id": w.checkout_order.pk}),
    "billing:order_purchase": Rule(kwargs=lambda w: {"order_id": w.checkout_order.pk}),
    "billing:order_authenticate": Rule(kwargs=lambda w: {"order_id": w.checkout_order.pk}),
    "billing:order_authenticated": Rule(kwargs=lambda w: {"order_id": w.checkout_order.pk}),
    "billing:order_status": Rule(kwargs=lambda w: {"order_id": w.checkout_order.pk}),
    "billing:order_confirmed": Rule(kwargs=lambda w: {"order_id": w.checkout_order.pk}),
    # --- billing: subscriptions and renewal ---
    "billing:subscription": Rule(kwargs=lambda w: {"subscription_id": w.subscription.pk}),
    "billing:subscription_auto_renew_off": Rule(
        kwargs=lambda w: {"subscription_id": w.subscription.pk}
    ),
    "billing:subscription_payment_method": Rule(
        kwargs=lambda w: {"subscription_id": w.subscription.pk},
        data=lambda w: {"payment_method": w.card.pk},
    ),
    "billing:subscription_add_card": Rule(kwargs=lambda w: {"subscription_id": w.subscription.pk}),
    "billing:subscription_cancel": Rule(kwargs=lambda w: {"subscription_id": w.subscription.pk}),
    "billing:renew_details": Rule(kwargs=lambda w: {"subscription_id": w.subscription.pk}),
    "billing:renew_terms": Rule(kwargs=lambda w: {"subscription_id": w.subscription.pk}),
    "billing:renew_payment": Rule(kwargs=lambda w: {"subscription_id": w.subscription.pk}),
    "billing:renew_review": Rule(kwargs=lambda w: {"subscription_id": w.subscription.pk}),
    # --- billing: benefits ---
    "billing:benefits": Rule(),
    "billing:benefit_get_key": Rule(kwargs=lambda w: {"grant_id": w.grant.pk}),
    "billing:benefit_activate": Rule(kwargs=lambda w: {"grant_id": w.grant.pk}),
    "billing:benefit_assign": Rule(
        kwargs=lambda w: {"grant_id": w.seat_grant.pk},
        data=lambda w: {"email": "frank@contoso.example"},
    ),
    "billing:benefit_unassign": Rule(kwargs=lambda w: {"assignment_id": w.assignment.pk}),
    "billing:benefit_reassign": Rule(
        kwargs=lambda w: {"assignment_id": w.assignment.pk},
        data=lambda w: {"email": "gina@contoso.example"},
    ),
    "billing:membership": Rule(),
    # --- billing: payment methods, orders and invoices ---
    "billing:payment_methods": Rule(),
    "billing:payment_method_add": Rule(),
    "billing:card_setup": Rule(),
    "billing:purchase_card_setup": Rule(),
    "billing:payment_method_make_default": Rule(kwargs=lambda w: {"payment_method_id": w.card.pk}),
    "billing:payment_method_remove": Rule(kwargs=lambda w: {"payment_method_id": w.card.pk}),
    "billing:orders": Rule(),
    "billing:invoices": Rule(),
    "billing:invoice": Rule(kwargs=lambda w: {"invoice_id": w.invoice.pk}),
    "billing:invoice_pdf": Rule(kwargs=lambda w: {"invoice_id": w.invoice.pk}),
    # --- support ---
    "support:home": Rule(),
    "support:new_request": Rule(),
    "support:requests": Rule(),
    "support:request_detail": Rule(kwargs=lambda w: {"pk": w.service_request.pk}),
    "support:request_submitted": Rule(kwargs=lambda w: {"pk": w.service_request.pk}),
    "support:request_reply": Rule(
        kwargs=lambda w: {"pk": w.service_request.pk}, data=lambda w: {"body": "Any news?"}
    ),
    "support:request_close": Rule(kwargs=lambda w: {"pk": w.service_request.pk}),
    "support:attachment": Rule(
        kwargs=lambda w: {"pk": w.service_request.pk, "attachment_pk": w.attachment.pk}
    ),
}

# Whole namespaces that are not partner pages.
EXEMPT_NAMESPACES: dict[str, str] = {
    "admin": "staff pages behind the admin's own staff login and model permissions",
}

EXEMPT: dict[str, str] = {
    "login": "sign-in pages are for signed-out people (tests/security/test_sign_in.py)",
    "account_login": "the same page as login, under allauth's name",
    "logout": "signing out needs no role (tests/security/test_sign_in.py)",
    "account_logout": "the same page as logout, under allauth's name",
    "account_inactive": "says an account is inactive; shows nothing else",
    "mfa_authenticate": "the second step of signing in: the password step in the session is the "
    "credential (tests/membership/test_second_factor_sign_in.py)",
    "mfa_login_webauthn": "signing in with a passkey: the passkey is the credential "
    "(tests/membership/test_second_factor_browser.py)",
    "password_reset": "for signed-out people (tests/security/test_sign_in.py)",
    "password_reset_done": "for signed-out people",
    "password_reset_confirm": "the signed reset token is the credential",
    "password_reset_complete": "for signed-out people",
    "membership:set_language": "anyone may choose a language, even signed out",
    "membership:invitation_accept": "the invitation token is the credential; opened signed out, "
    "or by the invited account itself (tests/membership/test_invitation_join.py)",
    "billing:stripe_webhook": "called by Stripe, authenticated by its signature "
    "(fuzzed in tests/security/test_fuzz_forms.py)",
    "healthz": "the load balancer's probe (the same as healthz_ready): public, up or down",
    "healthz_live": "the process answers: public, touches nothing",
    "healthz_ready": "the load balancer's probe: public, says only which check is down",
    "favicon": "a redirect to the public static icon",
}


# Staff pages that reach an object one staff member owns: a background job's progress, status
# and result (billing/admin/background_jobs.py). The admin namespace is exempt from the partner
# walkers above; these are walked by tests/security/test_staff_jobs.py instead: the job's
# creator holding the permission is let in, staff without the permission get 403, another staff
# member gets 404, and a partner is sent to the admin's sign-in. A custom URL of a ModelAdmin
# whose name starts with one of STAFF_OWNED_PREFIXES and has no rule fails that test.
STAFF_OWNED_PREFIXES = ("admin:billing_backgroundjob_",)
# The ModelAdmin's own URLs, guarded by its has_*_permission and queryset.
ADMIN_STANDARD_SUFFIXES = ("_changelist", "_add", "_history", "_delete", "_change")
STAFF_RULES: dict[str, str] = {
    "admin:billing_backgroundjob_progress": "the progress page (HTML)",
    "admin:billing_backgroundjob_status": "the JSON status the page's script polls",
    "admin:billing_backgroundjob_download": "the CSV an export wrote (private storage)",
}


@dataclass(frozen=True)
class Route:
    name: str  # "billing:invoice"; unnamed patterns get "<unnamed> route"
    route: str
    callback: Callable[..., Any]
    namespace: str

    @property
    def kwarg_names(self) -> set[str]:
        return set(_kwargs_of(self.route))

    @property
    def required_action(self) -> Action | None:
        return getattr(self.callback, "required_action", None)

    @property
    def methods(self) -> set[str] | None:
        """The methods its decorators allow (``require_POST``…), or None when any is allowed."""
        return allowed_methods(self.callback)

    @property
    def method(self) -> str:
        rule = RULES.get(self.name)
        if rule is not None and rule.method:
            return rule.method
        methods = self.methods
        return "GET" if methods is None or "GET" in methods else "POST"


_KWARG = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


def _kwargs_of(route: str) -> list[str]:
    return [converter or regex for converter, regex in _KWARG.findall(route)]


def allowed_methods(view: Callable[..., Any]) -> set[str] | None:
    """Read ``require_http_methods`` (and require_GET/POST/safe) from the decorator chain."""
    allowed: set[str] | None = None
    current: Any = view
    while current is not None:
        closure = inspect.getclosurevars(current).nonlocals if inspect.isfunction(current) else {}
        methods = closure.get("request_method_list")
        if methods is not None:
            allowed = set(methods) if allowed is None else allowed & set(methods)
        current = getattr(current, "__wrapped__", None)
    return allowed


def project_routes() -> list[Route]:
    routes: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if pattern.name:
                    name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                else:
                    name = f"<unnamed> {route}"
                routes.append(Route(name, route, pattern.callback, namespace.split(":")[0]))

    walk(get_resolver().url_patterns, "", "")
    return routes


def partner_routes() -> list[Route]:
    """Routes the walkers test: everything but the exempt namespaces and names."""
    return [
        route
        for route in project_routes()
        if route.namespace not in EXEMPT_NAMESPACES and route.name not in EXEMPT
    ]


def ruled_routes() -> list[Route]:
    return [route for route in partner_routes() if route.name in RULES]
