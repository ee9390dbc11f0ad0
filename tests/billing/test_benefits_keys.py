"""Product keys: from a pool staff load, each given out once, to one organization; an empty pool
tells the partner and alerts staff."""

from __future__ import annotations

import pytest

from billing.models import ProductKey
from billing.services.benefits import BenefitError, product_key_issue, product_keys_load
from tests.billing.benefits_setup import grant_of, load_keys
from tests.billing.factories import make_subscription
from tests.membership.concurrency import run_at_once


def test_it_gives_out_the_oldest_key_first(contoso, offer, bob):
    keys = load_keys(offer, 3)
    grant = grant_of(make_subscription(contoso, offer, benefits=True), "windows-enterprise")

    first = product_key_issue(grant=grant, actor=bob)
    second = product_key_issue(grant=grant, actor=bob)

    assert [first.key, second.key] == keys[:2]
    assert first.issued_to == bob
    grant.refresh_from_db()
    assert grant.used_quantity == 2


def test_a_key_goes_to_one_organization_only(contoso, fabrikam, offer, bob, charlie):
    load_keys(offer, 2)
    contosos = product_key_issue(
        grant=grant_of(make_subscription(contoso, offer, benefits=True), "windows-enterprise"),
        actor=bob,
    )
    fabrikams = product_key_issue(
        grant=grant_of(make_subscription(fabrikam, offer, benefits=True), "windows-enterprise"),
        actor=charlie,
    )

    assert contosos.key != fabrikams.key
    assert ProductKey.objects.filter(grant__isnull=True).count() == 0


def test_an_empty_pool_says_so_and_alerts_staff(contoso, offer, bob, mailoutbox, settings):
    settings.STAFF_ALERT_EMAIL = "keys@partnerportal.example"
    grant = grant_of(make_subscription(contoso, offer, benefits=True), "windows-enterprise")

    with pytest.raises(BenefitError, match="No product keys are available right now"):
        product_key_issue(grant=grant, actor=bob)

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["keys@partnerportal.example"]
    assert "Windows 10 Enterprise" in mailoutbox[0].subject
    assert "Contoso Ltd" in mailoutbox[0].body
    grant.refresh_from_db()
    assert grant.used_quantity == 0
    assert grant.activated_at is None  # nothing was activated, refund eligibility unchanged


def test_staff_are_alerted_once_however_many_ask(contoso, offer, bob, mailoutbox):
    grant = grant_of(make_subscription(contoso, offer, benefits=True), "windows-enterprise")

    for _attempt in range(3):
        with pytest.raises(BenefitError):
            product_key_issue(grant=grant, actor=bob)

    assert len(mailoutbox) == 1


def test_it_stops_at_the_terms_quantity(contoso, offer, bob, mailoutbox):
    load_keys(offer, 12)
    grant = grant_of(make_subscription(contoso, offer, benefits=True), "windows-enterprise")
    for _number in range(10):
        product_key_issue(grant=grant, actor=bob)

    with pytest.raises(BenefitError, match="All 10 keys of this term"):
        product_key_issue(grant=grant, actor=bob)

    assert ProductKey.objects.filter(grant__isnull=True).count() == 2
    assert mailoutbox == []  # the pool is not empty: no staff alert


def test_loading_skips_keys_already_in_the_pool(offer):
    benefit = offer.benefits.get(code="windows-enterprise")
    product_keys_load(benefit=benefit, keys=["aaaaa-11111", "BBBBB-22222"])

    added, skipped = product_keys_load(benefit=benefit, keys=[" AAAAA-11111 ", "CCCCC-33333", ""])

    assert (added, skipped) == (1, 1)
    assert sorted(ProductKey.objects.values_list("key", flat=True)) == [
        "AAAAA-11111",
        "BBBBB-22222",
        "CCCCC-33333",
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_get_the_same_key(contoso, fabrikam, offer, bob, charlie):
    load_keys(offer, 6)
    contosos = grant_of(make_subscription(contoso, offer, benefits=True), "windows-enterprise")
    fabrikams = grant_of(make_subscription(fabrikam, offer, benefits=True), "windows-enterprise")

    outcomes = run_at_once(
        *[lambda: product_key_issue(grant=contosos, actor=bob)] * 3,
        *[lambda: product_key_issue(grant=fabrikams, actor=charlie)] * 3,
    )

    keys = [outcome.key for outcome in outcomes]
    assert len(set(keys)) == 6
    assert ProductKey.objects.filter(grant=contosos).count() == 3
    assert ProductKey.objects.filter(grant=fabrikams).count() == 3
