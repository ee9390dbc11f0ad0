"""Names that hold a web address are refused; names in emails are never links (core/text.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core.text import ZERO_WIDTH_SPACE, looks_like_a_link, no_links, unlinked


@pytest.mark.parametrize(
    "name",
    [
        "URGENT verify at https://evil.example/login",
        "evil.example",
        "evil.example/login",
        "www.evil",
        "Booking.com",
        "mailto:boss@evil.example",
        "Pay at HTTP : //x",
        "x@evil.co",
    ],
)
def test_a_name_with_an_address_is_refused(name: str) -> None:
    assert looks_like_a_link(name)
    with pytest.raises(ValidationError, match="cannot contain a web address"):
        no_links(name)


@pytest.mark.parametrize(
    "name",
    [
        "Contoso Ltd",
        "Contoso Ltd.",
        "Fabrikam S.A.",
        "Fabrikam S.L.U.",
        "A.B.C. Corp",
        "J.R.R. Tolkien",
        "José Núñez",
        "Ñandú Ltda.",
        "v2.0 Partners",
        "Note: we are partners",
        "Dr. Smith",
    ],
)
def test_ordinary_names_pass(name: str) -> None:
    assert not looks_like_a_link(name)
    no_links(name)


def test_unlinked_keeps_the_name_readable_but_not_an_address() -> None:
    shown = unlinked("Visit https://evil.example/login")

    assert shown.replace(ZERO_WIDTH_SPACE, "") == "Visit https://evil.example/login"
    assert "evil.example" not in shown
    assert "https://" not in shown
    assert unlinked("Contoso Ltd") == "Contoso Ltd"
