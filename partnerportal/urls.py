from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from partnerportal import views

urlpatterns = [
    path("", include("membership.urls")),
    path("", include("offers.urls")),
    path("", include("billing.urls")),
    path("support/", include("support.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Partner Portal — staff"
admin.site.site_title = "Partner Portal staff"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
