"""Names in emails are plain text, never links (issue 13: an organization named "URGENT… verify
at https://evil.example/login" went out in the subject and body from our own sender).

New names holding an address are refused where they are typed (tests/membership/test_user_add.py,
test_profile.py); these are names stored before the rule, through every email the portal sends.
"""

from __future__ import annotations

from django.core import mail

from membership.models import Organization, User
from tests.i18n.test_spanish_emails import _send_billing, _send_membership, _send_support

EVIL = "evil.example"


def test_no_email_shows_a_name_as_an_address(world, settings):
    Organization.objects.filter(pk__in=[world.contoso.pk, world.fabrikam.pk]).update(
        name=f"URGENT verify at https://{EVIL}/login"
    )
    User.objects.filter(pk__in=[world.alice.pk, world.bob.pk, world.victor.pk]).update(
        full_name=f"Admin {EVIL}"
    )
    for person in (world.contoso, world.fabrikam, world.alice, world.bob, world.victor):
        person.refresh_from_db()
    mail.outbox = []

    _send_billing(world, world.bob)
    _send_membership(world)
    _send_support(world, settings)

    assert len(mail.outbox) >= 18
    shown = {}
    for message in mail.outbox:
        html = next(body for body, kind in message.alternatives if kind == "text/html")
        for part in (message.subject, message.body, html):
            if EVIL in part or f"https://{EVIL}" in part:
                shown[message.subject] = part
    assert shown == {}, f"a name is an address in: {list(shown)}"
