"""The audit trail of signing in and out, and its read-only page in the admin."""

from __future__ import annotations

from django.test import Client

from membership.models import AuditEvent
from membership.services import audit_record
from tests.plugins.people import client_sign_in

LOGIN = "/accounts/login/"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_it_records_a_sign_in_with_the_address(alice) -> None:
    client_sign_in(Client(), alice, REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Firefox/140")

    (event,) = events(AuditEvent.Action.SIGN_IN)
    assert (event.actor, event.actor_label, event.ip_address) == (alice, alice.email, "203.0.113.7")
    assert event.detail == {"user_agent": "Firefox/140", "second_factor": "totp"}
    assert event.created_at is not None


def test_it_records_a_failed_sign_in_without_the_password(alice) -> None:
    Client().post(
        LOGIN,
        {"login": "ALICE@contoso.example", "password": "guess-1"},
        REMOTE_ADDR="203.0.113.8",
    )

    (event,) = events(AuditEvent.Action.SIGN_IN_FAILED)
    assert (event.actor, event.ip_address) == (alice, "203.0.113.8")
    assert event.actor_label == "ALICE@contoso.example"  # as typed
    assert "guess-1" not in str(event.detail) + event.target + event.actor_label


def test_it_records_a_failed_sign_in_for_an_unknown_email(db) -> None:
    Client().post(LOGIN, {"login": "ghost@example.com", "password": "x"}, REMOTE_ADDR="203.0.113.9")

    (event,) = events(AuditEvent.Action.SIGN_IN_FAILED)
    assert (event.actor, event.actor_label, event.ip_address) == (
        None,
        "ghost@example.com",
        "203.0.113.9",
    )


def test_it_marks_failures_that_hit_a_lockout(alice) -> None:
    for _ in range(5):
        Client().post(LOGIN, {"login": alice.email, "password": "x"}, REMOTE_ADDR="203.0.113.9")

    assert [e.detail.get("locked_out", False) for e in events("sign_in_failed")] == [
        False,
        False,
        False,
        False,
        True,
    ]


def test_it_records_a_sign_out(alice) -> None:
    client = Client()
    client_sign_in(client, alice, REMOTE_ADDR="203.0.113.7")

    client.post("/accounts/logout/", REMOTE_ADDR="203.0.113.7")

    (event,) = events(AuditEvent.Action.SIGN_OUT)
    assert (event.actor, event.ip_address) == (alice, "203.0.113.7")


def test_behind_the_load_balancer_it_records_the_client_not_the_proxy(alice, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    client_sign_in(
        Client(),
        alice,
        REMOTE_ADDR="10.0.0.2",  # the load balancer
        # The first entry is the browser's own claim (forgeable); the last one the balancer saw.
        HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.20",
    )

    (event,) = events(AuditEvent.Action.SIGN_IN)
    assert event.ip_address == "198.51.100.20"


# --- the admin: staff read, nobody writes --------------------------------------------------------


def _event(contoso, alice) -> AuditEvent:
    return audit_record(
        action=AuditEvent.Action.ROLES_CHANGED,
        organization=contoso,
        actor=alice,
        target="bob@contoso.example",
        detail={"roles": ["billing_admin"]},
        ip_address="203.0.113.7",
    )


def test_staff_read_the_audit_trail_in_the_admin(root, contoso, alice, login) -> None:
    event = _event(contoso, alice)
    client = login(root)

    listing = client.get("/admin/membership/auditevent/")
    detail = client.get(f"/admin/membership/auditevent/{event.pk}/change/")

    assert listing.status_code == 200
    assert b"bob@contoso.example" in listing.content and b"203.0.113.7" in listing.content
    assert detail.status_code == 200
    assert b"billing_admin" in detail.content
    assert b'name="_save"' not in detail.content  # no Save button: read-only


def test_nobody_adds_changes_or_deletes_audit_events(root, contoso, alice, login) -> None:
    event = _event(contoso, alice)
    client = login(root)

    assert client.get("/admin/membership/auditevent/add/").status_code == 403
    assert (
        client.post(f"/admin/membership/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    client.post(
        f"/admin/membership/auditevent/{event.pk}/change/",
        {"action": "refund", "target": "forged", "actor_label": "forged"},
    )
    client.post(
        "/admin/membership/auditevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )

    event.refresh_from_db()
    assert (event.action, event.target) == ("roles_changed", "bob@contoso.example")


def test_partners_cannot_open_the_admin(alice, contoso, login) -> None:
    _event(contoso, alice)

    response = login(alice).get("/admin/membership/auditevent/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
