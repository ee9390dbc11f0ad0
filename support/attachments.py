"""What a support attachment may be: its size, and its type judged from its first bytes.

The browser's content type and the file name are the uploader's say-so; the type we store (and
serve the file with) is the one its content shows. Text files have no signature, so a file is
text when its beginning decodes as UTF-8 without control bytes; the extension then tells plain
text from CSV.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SNIFF_BYTES = 2048
MAX_FILES_PER_MESSAGE = 5

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF-", "application/pdf"),
)

TYPE_LABELS = {
    "image/png": gettext_lazy("PNG image"),
    "image/jpeg": gettext_lazy("JPEG image"),
    "application/pdf": gettext_lazy("PDF document"),
    "text/plain": gettext_lazy("text file"),
    "text/csv": gettext_lazy("CSV file"),
}

# Control characters other than tab, line feed, form feed and carriage return never appear in
# text a person wrote; their presence means a binary file with a text-like name.
_BINARY_BYTES = bytes(set(range(32)) - {9, 10, 12, 13}) + b"\x7f"


def _looks_like_text(head: bytes) -> bool:
    if any(byte in _BINARY_BYTES for byte in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The sample may end in the middle of a multi-byte character; anything else is binary.
        return error.start >= len(head) - 3 and error.reason == "unexpected end of data"
    return True


def content_type_sniff(head: bytes, filename: str) -> str | None:
    """The MIME type the first bytes of a file show, or ``None`` when we don't recognise it."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head and _looks_like_text(head):
        return "text/csv" if Path(filename).suffix.lower() == ".csv" else "text/plain"
    return None


def allowed_types_label() -> str:
    return ", ".join(str(TYPE_LABELS.get(t, t)) for t in settings.SUPPORT_ATTACHMENT_TYPES)


def attachment_check(upload: UploadedFile) -> str:
    """Validate one upload; return the content type its bytes show (raises ValidationError)."""
    name = Path(upload.name or "").name
    limit = settings.SUPPORT_ATTACHMENT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            _("“%(name)s” is %(size)s; the limit is %(limit)s per file.")
            % {"name": name, "size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            code="too_large",
        )
    if not upload.size:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": name}, code="empty")
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    content_type = content_type_sniff(head, name)
    if content_type is None or content_type not in settings.SUPPORT_ATTACHMENT_TYPES:
        raise ValidationError(
            _("“%(name)s” is not a file type we accept. Allowed: %(types)s.")
            % {"name": name, "types": allowed_types_label()},
            code="type_not_allowed",
        )
    return content_type


def attachments_check(uploads: list[UploadedFile]) -> list[tuple[UploadedFile, str]]:
    """Validate a message's uploads; every problem is reported, not only the first."""
    if len(uploads) > MAX_FILES_PER_MESSAGE:
        raise ValidationError(
            _("Attach at most %(count)d files to one message.") % {"count": MAX_FILES_PER_MESSAGE},
            code="too_many",
        )
    checked, errors = [], []
    for upload in uploads:
        try:
            checked.append((upload, attachment_check(upload)))
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError(errors)
    return checked
