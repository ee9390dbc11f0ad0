"""The staff's workplace in the admin: the case list and page (``cases``), their filters and
inlines, and the canned replies and articles support leads edit (``content``)."""

from support.admin import cases, content  # noqa: F401 (registers the ModelAdmins)
