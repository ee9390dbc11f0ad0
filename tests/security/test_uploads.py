"""Uploads are checked by size and by what their bytes are, never by the browser's say-so.

Every form with a file field (found by the fuzzer's form discovery) must be listed in
``UPLOAD_FORMS`` with data that is otherwise valid, so that the file is what decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from support.models import Attachment
from tests.security.conftest import database_snapshot, snapshot_difference
from tests.security.test_fuzz_forms import TARGETS, form_classes
from tests.security.url_rules import RULES, ruled_routes
from tests.security.world import World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@dataclass(frozen=True)
class UploadForm:
    data: Callable[[World], dict[str, Any]]  # valid values for the other fields
    field: str


UPLOAD_FORMS: dict[str, UploadForm] = {
    "support:new_request": UploadForm(
        data=lambda w: {
            "issue_type": "technical",
            "title": "The invoice page shows an error",
            "description": "Screenshot attached.",
            "severity": "C",
            "contact_email": w.alice.email,
        },
        field="attachments",
    ),
    "support:request_reply": UploadForm(
        data=lambda w: {"body": "See the file."}, field="attachments"
    ),
}


def _has_file_field(name: str) -> bool:
    route = next(r for r in ruled_routes() if r.name == name)
    return any(
        isinstance(field, forms.FileField)
        for form_class in form_classes(route)
        for field in form_class.base_fields.values()
    )


UPLOAD_TARGETS = sorted(name for name in TARGETS if _has_file_field(name))


def test_every_upload_form_is_listed() -> None:
    assert UPLOAD_TARGETS == sorted(UPLOAD_FORMS), (
        "Forms with a file field must be in UPLOAD_FORMS (tests/security/test_uploads.py): "
        f"{sorted(set(UPLOAD_TARGETS) ^ set(UPLOAD_FORMS))}"
    )


def _poster(client: Client, name: str, world: World) -> Callable[[SimpleUploadedFile], Any]:
    """Build the form's objects now (before any snapshot); post a file later."""
    url = reverse(name, kwargs=RULES[name].url_kwargs(world))
    form = UPLOAD_FORMS[name]
    data = form.data(world)
    return lambda upload: client.post(url, {**data, form.field: upload})


def _refused_with(response, words: str) -> bool:
    return response.status_code in (200, 400) and words in response.content.decode()


@pytest.mark.parametrize("name", sorted(UPLOAD_FORMS))
def test_a_file_over_the_limit_is_refused(name: str, world: World, login, settings) -> None:
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 1024  # the rule, not the number, is under test
    post = _poster(login(world.alice), name, world)
    big = SimpleUploadedFile("screenshot.png", PNG + b"\x00" * 1024, "image/png")
    before = database_snapshot()

    response = post(big)

    assert _refused_with(response, "the limit is 1.0\xa0KB per file")
    assert snapshot_difference(before, database_snapshot()) == []


@pytest.mark.parametrize("name", sorted(UPLOAD_FORMS))
@pytest.mark.parametrize(
    ("filename", "content", "claimed"),
    [
        ("invoice.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100, "application/pdf"),  # a Windows program
        ("photo.png", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "image/png"),  # a Linux program
        ("archive.png", b"PK\x03\x04" + b"\x00" * 100, "image/png"),  # a zip
    ],
    ids=["exe-as-pdf", "elf-as-png", "zip-as-png"],
)
def test_a_file_whose_bytes_are_not_allowed_is_refused(
    name: str, filename: str, content: bytes, claimed: str, world: World, login
) -> None:
    post = _poster(login(world.alice), name, world)
    before = database_snapshot()

    response = post(SimpleUploadedFile(filename, content, claimed))

    assert response.status_code in (200, 400)
    assert "errorlist" in response.content.decode()
    assert snapshot_difference(before, database_snapshot()) == []


@pytest.mark.parametrize("name", sorted(UPLOAD_FORMS))
def test_an_allowed_file_is_stored_with_the_type_its_bytes_show(
    name: str, world: World, login
) -> None:
    client = login(world.alice)
    # HTML claiming to be a PNG: stored as the text it is, never served as HTML or an image.
    disguised = SimpleUploadedFile("photo.png", b"<html><script>alert(1)</script>", "image/png")

    response = _poster(client, name, world)(disguised)

    assert response.status_code == 302
    attachment = Attachment.objects.get(original_name="photo.png")
    assert attachment.content_type == "text/plain"
    download = client.get(
        reverse(
            "support:attachment",
            kwargs={"pk": attachment.request_id, "attachment_pk": attachment.pk},
        )
    )
    assert download["Content-Type"].startswith("text/plain")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment")


def test_a_request_body_over_the_limit_is_refused_before_the_view(
    world: World, login, settings
) -> None:
    settings.REQUEST_MAX_BYTES = 64 * 1024
    client = login(world.alice)
    before = database_snapshot()

    response = client.post(
        reverse("support:new_request"),
        {
            **UPLOAD_FORMS["support:new_request"].data(world),
            "attachments": SimpleUploadedFile("big.png", PNG + b"\x00" * 70 * 1024, "image/png"),
        },
    )

    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert snapshot_difference(before, database_snapshot()) == []
