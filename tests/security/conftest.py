from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps

from tests.security.world import World

# Everything a partner's request could change: our apps' tables (sessions and axes' counters are
# not ours and change on every sign-in).
OUR_APPS = ("membership", "offers", "billing", "support")


def database_snapshot() -> dict[str, list[dict[str, Any]]]:
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for label in OUR_APPS
        for model in apps.get_app_config(label).get_models()
    }


def snapshot_difference(before: dict, after: dict) -> list[str]:
    """What changed, table by table, in words a failing test can print."""
    changes = []
    for table in before:
        old = {row["id"]: row for row in before[table]}
        new = {row["id"]: row for row in after[table]}
        changes += [f"{table}: added {new[pk]}" for pk in new.keys() - old.keys()]
        changes += [f"{table}: removed {old[pk]}" for pk in old.keys() - new.keys()]
        for pk in old.keys() & new.keys():
            changed = {k: (old[pk][k], new[pk][k]) for k in old[pk] if old[pk][k] != new[pk][k]}
            if changed:
                changes.append(f"{table} #{pk}: changed {changed}")
    return changes


@pytest.fixture
def world(
    contoso,
    fabrikam,
    offer,
    alice,
    bob,
    bea,
    axel,
    victor,
    charlie,
    agent,
    settings,
    tmp_path,
    localstripe,
):
    """Contoso and Fabrikam with their people; pages that call Stripe reach localstripe."""
    settings.SUPPORT_ATTACHMENT_ROOT = str(tmp_path / "attachments")
    return World(contoso, fabrikam, offer, alice, bob, bea, axel, victor, charlie, agent)
