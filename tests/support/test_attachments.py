"""What an attachment may be: judged by its first bytes and its size, never by its name."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from support.attachments import attachment_check, attachments_check, content_type_sniff
from tests.support.files import EXE, PDF, PNG, upload


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (PNG, "screenshot.png", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "photo.jpg", "image/jpeg"),
        (PDF, "invoice.pdf", "application/pdf"),
        ("Line one\nLínea dos\n".encode(), "notes.txt", "text/plain"),
        (b"invoice,amount\nINV-1,475.00\n", "reconciliation.csv", "text/csv"),
        (PNG, "looks-like-a.pdf", "image/png"),
        (EXE, "invoice.pdf", None),
        (b"\x00\x01\x02binary", "data.txt", None),
        (b"", "empty.txt", None),
    ],
)
def test_it_sniffs_the_type_from_the_content(head, name, expected):
    assert content_type_sniff(head, name) == expected


def test_a_multibyte_character_cut_at_the_sample_edge_is_still_text():
    head = ("a" * 2047 + "é").encode()[:2048]

    assert content_type_sniff(head, "notes.txt") == "text/plain"


def test_it_accepts_an_allowed_file_whatever_the_browser_said():
    assert attachment_check(upload("shot.png", PNG, "application/x-msdownload")) == "image/png"


def test_it_refuses_a_program_named_like_a_pdf():
    with pytest.raises(ValidationError) as error:
        attachment_check(upload("invoice.pdf", EXE, "application/pdf"))

    assert error.value.code == "type_not_allowed"
    assert "“invoice.pdf” is not a file type we accept" in error.value.messages[0]
    assert "PDF document" in error.value.messages[0]


def test_it_refuses_a_type_the_settings_do_not_allow(settings):
    settings.SUPPORT_ATTACHMENT_TYPES = ("application/pdf",)

    with pytest.raises(ValidationError):
        attachment_check(upload("shot.png", PNG, "image/png"))


def test_it_refuses_a_file_over_the_size_limit(settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 1024

    with pytest.raises(ValidationError) as error:
        attachment_check(upload("log.txt", b"x" * 1025, "text/plain"))

    assert error.value.code == "too_large"
    assert "the limit is 1.0\xa0KB per file" in error.value.messages[0]


def test_a_file_exactly_at_the_limit_is_accepted(settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 1024

    assert attachment_check(upload("log.txt", b"x" * 1024, "text/plain")) == "text/plain"


def test_it_refuses_an_empty_file():
    with pytest.raises(ValidationError, match="is empty"):
        attachment_check(upload("empty.pdf", b"", "application/pdf"))


def test_it_reports_every_bad_file_not_only_the_first():
    with pytest.raises(ValidationError) as error:
        attachments_check([upload("a.pdf", EXE), upload("ok.png", PNG), upload("b.exe", EXE)])

    assert len(error.value.messages) == 2


def test_it_refuses_too_many_files():
    with pytest.raises(ValidationError, match="at most 5 files"):
        attachments_check([upload(f"{n}.png", PNG) for n in range(6)])
