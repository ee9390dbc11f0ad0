from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from membership.urls import auth_patterns, second_factor_patterns
from partnerportal import health, overview, views

# The admin has no sign-in page of its own: staff sign in like everyone, password then second
# factor, and come back (docs/sign-in.md). No path into /admin/ with a password alone.
admin.site.login = secure_admin_login(admin.site.login)
# The admin's first page is the staff overview, above the list of models (docs/staff.md).
admin.site.index = overview.admin_index(admin.site.index)
admin.site.index_template = "admin/overview.html"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    *auth_patterns,
    path("account/security/", include(second_factor_patterns)),
    path("", include("membership.urls")),
    path("", include("billing.urls")),
    path("support/", include("support.urls")),
    path("healthz/live", health.live, name="healthz_live"),
    path("healthz/ready", health.ready, name="healthz_ready"),
    # Balancers configured before the split keep working: the same answer as ready.
    path("healthz", health.ready, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
]

admin.site.site_header = _("Partner Portal — staff")
admin.site.site_title = _("Partner Portal staff")
admin.site.index_title = _("Support, billing and catalog")

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
