"""Partner actions land in the audit trail with actor, time and the browser's address.

Behind the load balancer (``TRUSTED_PROXY_COUNT=1``) the address is the one the balancer saw,
the same one sign-in lockouts use; never the balancer's own, never one the client made up.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from core import clock
from membership.models import AuditEvent, Role
from tests.security.world import World

BALANCER = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.23"}


@pytest.fixture(autouse=True)
def _behind_the_balancer(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1


def _only(action: str) -> AuditEvent:
    (event,) = AuditEvent.objects.filter(action=action)
    return event


def test_a_role_change_is_audited(world: World, login) -> None:
    url = reverse("membership:user_edit", kwargs={"membership_id": world.member.pk})
    started = clock.now()

    response = login(world.alice).post(url, {"roles": [Role.BILLING_ADMIN]}, **BALANCER)

    assert response.status_code == 302
    event = _only(AuditEvent.Action.ROLES_CHANGED)
    assert (event.actor, event.organization, event.ip_address) == (
        world.alice,
        world.contoso,
        "198.51.100.23",
    )
    assert event.created_at >= started


def test_turning_auto_renew_off_is_audited(world: World, login) -> None:
    url = reverse(
        "billing:subscription_auto_renew_off", kwargs={"subscription_id": world.subscription.pk}
    )

    response = login(world.bob).post(url, **BALANCER)

    assert response.status_code == 302
    event = _only(AuditEvent.Action.AUTO_RENEW_OFF)
    assert (event.actor, event.organization, event.ip_address) == (
        world.bob,
        world.contoso,
        "198.51.100.23",
    )
