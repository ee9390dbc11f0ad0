from __future__ import annotations

import pytest

from membership.invitations import user_invite
from membership.models import Invitation, Role


@pytest.fixture
def invitation(contoso, alice) -> Invitation:
    """Dana, invited to Contoso as a Billing admin by alice; not answered yet."""
    return user_invite(
        organization=contoso,
        email="dana@contoso.example",
        full_name="Dana",
        roles={Role.BILLING_ADMIN},
        actor=alice,
    )
