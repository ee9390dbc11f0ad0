"""Staff in the groups the data migration creates (made again after a transactional test
flushed them), for support and billing tests."""

from __future__ import annotations

import importlib

import pyotp
from django.contrib.auth.models import Group, Permission

from membership.models import User
from membership.services import second_factor_enroll_totp
from tests.plugins.people import PASSWORD

GROUPS = importlib.import_module("support.migrations.0003_staff_groups").GROUPS
_SECOND_FACTOR = importlib.import_module("support.migrations.0005_staff_may_reset_second_factors")
# Invoices and VAT rates came later (issue 14), in billing's own data migration.
INVOICE_PERMISSIONS = importlib.import_module(
    "billing.migrations.0006_invoices_data"
).STAFF_PERMISSIONS
# The staff overview and the billing cycle's runs came with issue 17.
_OVERVIEW = importlib.import_module("billing.migrations.0009_billing_cycle_runs")


def staff_group(name: str) -> Group:
    group, created = Group.objects.get_or_create(name=name)
    if created:
        extra = [_SECOND_FACTOR.PERMISSION] if name in _SECOND_FACTOR.STAFF_GROUPS else []
        wanted = [
            *GROUPS[name],
            *extra,
            *(("billing", codename) for codename in INVOICE_PERMISSIONS.get(name, [])),
            *(
                ("billing", codename)
                for codename in _OVERVIEW.STAFF_PERMISSIONS
                if name in _OVERVIEW.STAFF_GROUPS
            ),
        ]
        for app_label, codename in wanted:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    return group


def billing_specialist_create(email: str = "billing@partnerportal.example") -> User:
    """Bill, a billing specialist: may cancel subscriptions and refund."""
    user = User.objects.create_user(
        email=email,
        password=PASSWORD,
        full_name="Bill Specialist",
        is_staff=True,
    )
    second_factor_enroll_totp(user=user, secret=pyotp.random_base32())
    user.groups.add(staff_group("Billing specialist"))
    return user
