"""The data migration's staff groups, and the demo articles seed_demo loads."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from support.demo import support_demo_articles, support_demo_canned_replies
from support.models import CannedReply, IssueType, RecommendedSolution

pytestmark = pytest.mark.django_db


def codenames(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_the_migration_created_the_three_staff_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Support agent",
        "Billing specialist",
        "Support lead",
    }


def test_only_billing_specialists_may_cancel_and_refund():
    assert "support.cancel_subscription" in codenames("Billing specialist")
    assert "support.cancel_subscription" not in codenames("Support agent")
    assert "support.cancel_subscription" not in codenames("Support lead")


def test_agents_work_cases_and_leads_manage_canned_replies_and_articles():
    agent = codenames("Support agent")
    lead = codenames("Support lead")
    assert {"support.change_servicerequest", "support.add_message"} <= agent
    assert "support.change_cannedreply" not in agent
    assert {"support.change_cannedreply", "support.change_recommendedsolution"} <= lead


def test_demo_articles_cover_every_issue_type_and_load_twice_the_same():
    first = support_demo_articles()
    second = support_demo_articles()

    assert first == second == RecommendedSolution.objects.count()
    assert set(RecommendedSolution.objects.values_list("issue_type", flat=True)) == set(
        IssueType.values
    )
    assert not RecommendedSolution.objects.filter(title_es="").exists()


def test_demo_canned_replies_load_twice_the_same():
    support_demo_canned_replies()
    support_demo_canned_replies()

    assert CannedReply.objects.count() == 3
