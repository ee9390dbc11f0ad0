"""Files that only views checking who asks may serve: never under MEDIA_ROOT, never a URL.

Support attachments (``support.models.PrivateAttachmentStorage``) and the files of staff
background jobs (``billing.models.BackgroundJob``: uploaded key lists, invoice exports) live in
``<MEDIA_ROOT>-private`` (``var/media-private`` by default), or where a setting says.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    """Beside MEDIA_ROOT, never under it: MEDIA_URL must not serve these files.

    ``root_setting`` names a setting that moves the place; it is read on every use so that tests
    can point ``MEDIA_ROOT`` at a temporary directory.
    """

    root_setting = "PRIVATE_FILES_ROOT"

    @property
    def base_location(self) -> str:  # type: ignore[override]
        configured = getattr(settings, self.root_setting, None)
        if configured:
            return str(configured)
        media_root = Path(settings.MEDIA_ROOT)
        return str(media_root.with_name(f"{media_root.name}-private"))

    @property
    def location(self) -> str:  # type: ignore[override]
        return str(Path(self.base_location).resolve())

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no public URL; link to a view that checks access.")


def private_storage() -> PrivateStorage:
    return PrivateStorage()
