"""Property-based: generated input to every partner form and to the Stripe webhook.

Every URL with a rule in tests/security/url_rules.py whose view takes a POST is a target; new
forms are covered as soon as their URL gets its rule. For each target, Hypothesis posts form data
built from the view's own form classes (their fields, choices and types), mixed with garbage,
ids of another organization's objects, and fields the browser must never decide (amount,
currency, organization…). Properties:
- no server error, whatever is posted;
- when the portal does not accept the input (the form comes back, a 4xx, or an error message),
  nothing in the database changed, and the page says why (form errors or an error message);
- amounts and currencies of orders always come from the offer's price, never from the browser.
The webhook gets unsigned and wrongly signed bodies (400, nothing stored), signatures dated an
hour back or ahead, JSON nested too deep, and validly signed events of random shape (never a
crash). Ids include numbers no database column can hold; names include web addresses; the
invitation link gets any answer and any password (issue 13).

``FUZZ_EXAMPLES`` (default 25) sets the examples per target; runs are derandomized so CI is
reproducible; set ``FUZZ_RANDOM=1`` to explore new inputs.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import os
import time
import types
from typing import Any

import pytest
from django import forms
from django.conf import settings as django_settings
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Order, PaymentMethod, StripeEvent
from membership.models import Membership
from offers.models import OfferPrice
from tests.security.conftest import database_snapshot, snapshot_difference
from tests.security.url_rules import RULES, Route, ruled_routes
from tests.security.world import World

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Fields a browser may send but must never decide: prices, currencies, whose the object is.
FORGED_FIELDS = (
    "amount",
    "currency",
    "price",
    "organization",
    "organization_id",
    "status",
    "user",
    "invoice_number",
    "is_staff",
)


# --- which views take a POST, and with which fields -------------------------------------------


def _innermost(view: Any) -> Any:
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    return view


def takes_post(route: Route) -> bool:
    methods = route.methods
    if methods is not None:
        return "POST" in methods
    # No method decorator: the view decides; it takes a POST if its code reads one.
    source = inspect.getsource(_innermost(route.callback))
    return "request.POST" in source or "request.FILES" in source or '"POST"' in source


def form_classes(route: Route) -> list[type[forms.BaseForm]]:
    """The form classes the view's code names (``SomeForm(request.POST…)``)."""
    view = _innermost(route.callback)
    names = set(view.__code__.co_names)
    candidates = [view.__globals__.get(name) for name in names]
    # Also ``forms_module.SomeForm``: attributes of modules the view refers to.
    for module in [c for c in candidates if isinstance(c, types.ModuleType)]:
        candidates += [getattr(module, name, None) for name in names]
    return [c for c in candidates if isinstance(c, type) and issubclass(c, forms.BaseForm)]


def form_fields(route: Route, world: World) -> dict[str, forms.Field | None]:
    fields: dict[str, forms.Field | None] = {}
    for form_class in form_classes(route):
        fields.update(form_class.base_fields)
    for name in RULES[route.name].form_data(world):
        fields.setdefault(name, None)
    return fields


TARGETS = sorted(route.name for route in ruled_routes() if takes_post(route))


# --- what to post ---------------------------------------------------------------------------

garbage = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.sampled_from(["", " ", "\x00", "null", "-1", "0", "1e309", "NaN", "9" * 30, "<script>"]),
    # Names that would turn our emails into someone else's (issue 13).
    st.sampled_from(["URGENT verify at https://evil.example/login", "evil.example", "www.x.co"]),
    st.integers().map(str),
    st.integers(1_000, 70_000).map(lambda size: "x" * size),
)


# Ids no database column can hold (issue 13: SQLite raised OverflowError on them, a 500).
OUT_OF_RANGE_IDS = ["99999999999999999999999", str(2**63), str(-(2**63) - 1)]


def id_strategy(world_ids: list[int]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(world_ids).map(str),
        st.integers(-5, 10**12).map(str),
        st.sampled_from(OUT_OF_RANGE_IDS),
    )


def upload_strategy() -> st.SearchStrategy[SimpleUploadedFile]:
    heads = st.sampled_from(
        [b"\x89PNG\r\n\x1a\n", b"%PDF-1.7\n", b"\xff\xd8\xff", b"MZ\x90\x00", b"<html>", b"a,b\n"]
    )
    return st.builds(
        lambda head, body, name, content_type: SimpleUploadedFile(name, head + body, content_type),
        heads,
        st.binary(max_size=2048),
        st.sampled_from(["a.png", "b.pdf", "c.exe", "d.csv", "../../etc/passwd", "e.txt"])
        # A browser sends a base name; the test client cannot send an empty one.
        | st.text(min_size=1, max_size=80).filter(
            lambda name: os.path.basename(name) not in ("", ".", "..")
        ),
        st.sampled_from(["image/png", "application/pdf", "text/html", "application/x-msdownload"]),
    )


def field_strategy(field: forms.Field | None, world_ids: list[int]) -> st.SearchStrategy[Any]:
    if isinstance(field, forms.FileField):
        return st.lists(upload_strategy(), max_size=3)
    if isinstance(field, forms.BooleanField):
        return st.sampled_from(["on", "true", "false", "", "1", "0"]) | garbage
    if isinstance(field, forms.ModelChoiceField | forms.IntegerField | forms.DecimalField):
        return id_strategy(world_ids) | garbage
    if isinstance(field, forms.ChoiceField):
        valid = [
            str(value) for value, _label in field.choices if not isinstance(_label, list | tuple)
        ]
        return (st.sampled_from(valid) if valid else garbage) | garbage
    if isinstance(field, forms.EmailField):
        return st.emails().map(str) | garbage
    return st.one_of(st.text(max_size=200), garbage)


def form_data_strategy(
    fields: dict[str, forms.Field | None], world_ids: list[int]
) -> st.SearchStrategy[dict]:
    per_field = {
        name: st.one_of(st.none(), field_strategy(field, world_ids))
        for name, field in fields.items()
    }
    forged = {name: st.one_of(st.none(), id_strategy(world_ids), garbage) for name in FORGED_FIELDS}
    return st.fixed_dictionaries({**per_field, **forged}).map(
        lambda data: {name: value for name, value in data.items() if value is not None}
    )


# --- the properties -------------------------------------------------------------------------


def world_ids(world: World) -> list[int]:
    """Ids of both organizations' objects: Contoso's are valid, Fabrikam's must be refused."""
    fabrikam_card = PaymentMethod.objects.create(
        organization=world.fabrikam,
        stripe_payment_method_id="pm_fuzz_fabrikam",
        brand="visa",
        last4="1111",
        exp_month=1,
        exp_year=2040,
    )
    return sorted(
        {
            world.card.pk,
            fabrikam_card.pk,
            world.subscription.pk,
            world.paid_order.pk,
            world.member.pk,
            world.invitation.pk,
            world.contoso.pk,
            world.fabrikam.pk,
            world.charlie.pk,
            *Membership.objects.values_list("pk", flat=True),
        }
    )


def prices_come_from_the_catalog() -> list[str]:
    wrong = []
    for order in Order.objects.select_related("organization"):
        price = OfferPrice.objects.get(
            offer_id=order.offer_id, currency=order.organization.currency
        )
        if (order.amount, order.currency) != (price.amount, price.currency):
            wrong.append(f"order {order.pk}: {order.amount} {order.currency}, price {price}")
    return wrong


def _json(response) -> dict | None:
    if not response.get("Content-Type", "").startswith("application/json"):
        return None
    return response.json()


def refused(response) -> bool:
    """Did the portal say no? (form back with errors, a 4xx, or an error message)."""
    if response.status_code == 200 and _json(response) is not None:
        return "error" in _json(response)  # card entry's SetupIntent (billing:card_setup)
    if response.status_code != 302:
        return True
    errors = [m for m in get_messages(response.wsgi_request) if m.level >= message_levels.WARNING]
    return bool(errors)


def says_why(response) -> bool:
    """A refusal the person can act on: the form's errors, an error message, or a 4xx page."""
    if response.status_code in (403, 404, 405, 410, 413, 429):
        return True
    if response.status_code == 302:
        return True  # refused() only counts a redirect carrying an error message
    if (_json(response) or {}).get("error"):
        return True
    return b"errorlist" in response.content or b'class="message error' in response.content


def _url(route: Route, world: World) -> str:
    return reverse(route.name, kwargs=RULES[route.name].url_kwargs(world))


def test_every_form_view_is_a_target() -> None:
    # The walker finds forms by itself; this guards it against finding none.
    assert {"support:new_request", "membership:user_add", "billing:benefit_assign"} <= set(TARGETS)


@pytest.mark.parametrize("name", TARGETS)
def test_generated_input_never_breaks_a_form(name: str, world: World, login) -> None:
    route = next(r for r in ruled_routes() if r.name == name)
    url = _url(route, world)
    ids = world_ids(world)
    fields = form_fields(route, world)
    client: Client = login(world.alice)  # every role: the form itself is what is tested
    if route.methods is None or "GET" in route.methods:
        client.get(url)  # render once, as a person would before posting

    @FUZZ
    @given(data=form_data_strategy(fields, ids))
    def post_generated(data: dict) -> None:
        client.get(reverse("dashboard"))  # shows (and so clears) messages of earlier examples
        before = database_snapshot()
        response = client.post(url, data)

        assert response.status_code < 500, f"{name}: {response.status_code} for {data!r}"
        if refused(response):
            assert snapshot_difference(before, database_snapshot()) == [], (
                f"{name} refused {data!r} ({response.status_code}) but changed the database"
            )
            assert says_why(response), f"{name} refused {data!r} without saying why"
        assert prices_come_from_the_catalog() == []

    post_generated()


# --- the Stripe webhook ---------------------------------------------------------------------

WEBHOOK = "/stripe/webhook/"


def signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={signed.hexdigest()}"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(
    body=st.binary(max_size=2048) | json_values.map(lambda v: json.dumps(v).encode()),
    header=st.one_of(
        st.just(""),
        st.text(max_size=200),
        st.builds(lambda t, sig: f"t={t},v1={sig}", st.integers(), st.text(max_size=64)),
    ),
)
def test_the_webhook_refuses_unsigned_bodies(body: bytes, header: str, db) -> None:
    before = database_snapshot()

    response = Client().post(
        WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )

    assert response.status_code == 400
    assert snapshot_difference(before, database_snapshot()) == []


@FUZZ
@given(body=json_values.map(lambda v: json.dumps(v).encode()))
def test_the_webhook_refuses_a_wrong_secret_or_an_old_signature(body: bytes, db) -> None:
    before = StripeEvent.objects.count()

    forged = signature(body, "whsec_not_ours")
    stale = signature(body, django_settings.STRIPE_WEBHOOK_SECRET, int(time.time()) - 3600)
    future = signature(body, django_settings.STRIPE_WEBHOOK_SECRET, int(time.time()) + 3600)

    for header in (forged, stale, future):
        response = Client().post(
            WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        assert response.status_code == 400
    assert StripeEvent.objects.count() == before


@FUZZ
@given(
    depth=st.integers(65, 150_000),
    opening=st.sampled_from(["[", '{"a":']),
    wrapped=st.booleans(),
)
def test_the_webhook_refuses_signed_json_nested_too_deep(
    depth: int, opening: str, wrapped: bool, db
) -> None:
    closing = "]" if opening == "[" else "}"
    nested = opening * depth + "1" + closing * depth
    text = f'{{"id": "evt_deep", "type": "x", "data": {nested}}}' if wrapped else nested
    body = text.encode()

    response = Client().post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature(body, django_settings.STRIPE_WEBHOOK_SECRET),
    )

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


EVENT_TYPES = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.canceled",
    "charge.refunded",
    "setup_intent.succeeded",
    "payment_method.detached",
    "customer.deleted",
]


def event_strategy(world: World) -> st.SearchStrategy[dict]:
    known_intent_ids = [
        "pi_fuzz_unknown",
        "",
        *(
            Order.objects.exclude(stripe_payment_intent_id="").values_list(
                "stripe_payment_intent_id", flat=True
            )
        ),
    ]
    stripe_object = st.fixed_dictionaries(
        {"id": st.sampled_from(known_intent_ids) | st.text(max_size=30)},
        optional={
            "object": st.sampled_from(["payment_intent", "charge", "setup_intent"]) | st.text(),
            "status": st.sampled_from(["succeeded", "requires_payment_method", "canceled"])
            | st.text(max_size=20),
            "amount": st.integers(-(10**12), 10**12) | st.text(max_size=10),
            "currency": st.sampled_from(["usd", "eur", "jpy"]) | st.text(max_size=5),
            "metadata": st.dictionaries(
                st.sampled_from(["order_id", "organization_id", "x"]),
                st.integers().map(str) | st.text(max_size=10),
            ),
            "payment_intent": st.sampled_from(known_intent_ids),
            "last_payment_error": json_values,
        },
    )
    return st.fixed_dictionaries(
        {
            "id": st.text(min_size=1, max_size=40).map(lambda s: "evt_" + s),
            "type": st.sampled_from(EVENT_TYPES) | st.text(max_size=40),
            "data": st.fixed_dictionaries({"object": stripe_object}) | json_values,
        },
        optional={"object": st.just("event"), "created": st.integers(), "livemode": st.booleans()},
    )


def test_the_webhook_survives_any_signed_event(world: World, settings) -> None:
    assert world.paid_order.subscription is not None  # events have an order to point at
    secret = settings.STRIPE_WEBHOOK_SECRET

    @FUZZ
    @given(event=event_strategy(world))
    def post_signed(event: dict) -> None:
        body = json.dumps(event).encode()
        response = Client().post(
            WEBHOOK,
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature(body, secret),
        )

        # 503 asks Stripe to retry later (the event is stored); a crash is never right.
        assert response.status_code in (200, 400, 503), f"{response.status_code} for {event!r}"
        assert prices_come_from_the_catalog() == []

    post_signed()


# --- the signed-out forms -----------------------------------------------------------------------

SIGNED_OUT_FORMS = {
    "/accounts/login/": ("login", "password", "next"),
    "/accounts/password-reset/": ("email",),
    "/account/language/": ("language", "next"),
}


@FUZZ
@given(
    path=st.sampled_from(sorted(SIGNED_OUT_FORMS)),
    values=st.lists(garbage | st.emails().map(str), min_size=3, max_size=3),
    token=st.text(
        alphabet=st.characters(codec="ascii", exclude_characters="/?#%"), min_size=1, max_size=60
    ),
)
def test_signed_out_forms_and_links_never_break(path: str, values: list, token: str, db) -> None:
    fields = SIGNED_OUT_FORMS[path]
    response = Client().post(path, dict(zip(fields, values, strict=False)))
    assert response.status_code < 500

    # Links with tokens: a password reset and an invitation, with made-up tokens.
    assert Client().get(f"/accounts/reset/{token}/{token}/").status_code < 500
    assert Client().get(f"/invitations/{token}/").status_code < 500


# --- the invitation link: a newcomer's password, someone's answer -------------------------------


@pytest.fixture
def invitation_links(contoso, alice, charlie) -> dict[str, str]:
    """Paths of two emailed links: to a newcomer (choose a password) and to charlie (answer)."""
    from django.core import mail

    from membership.invitations import user_invite
    from tests.membership.team_helpers import invitation_path

    links = {}
    for kind, email in (("newcomer", "dana@contoso.example"), ("existing", charlie.email)):
        user_invite(organization=contoso, email=email, full_name="X", roles=set(), actor=alice)
        links[kind] = invitation_path(mail.outbox[-1])
    return links


def test_the_invitation_link_survives_any_answer(invitation_links, charlie, login) -> None:
    from membership.models import Membership

    invited = login(charlie)

    @FUZZ
    @given(
        answer=garbage,  # "join" and "decline" are the answers; anything else is refused
        password=st.one_of(garbage, st.text(max_size=40)),
        again=garbage,
    )
    def post(answer: str, password: str, again: str) -> None:
        before = database_snapshot()
        answered = invited.post(invitation_links["existing"], {"answer": answer})
        chose = Client().post(
            invitation_links["newcomer"], {"new_password1": password, "new_password2": again}
        )

        assert answered.status_code < 500 and chose.status_code < 500
        if chose.status_code != 302:  # refused: nothing joined, nothing set
            assert snapshot_difference(before, database_snapshot()) == []
            assert not Membership.objects.filter(user__email="dana@contoso.example").exists()

    post()
