from __future__ import annotations

from django.urls import path

from partnerportal.views import coming_soon

app_name = "support"

urlpatterns = [
    path("", coming_soon, name="home"),
    path("new/", coming_soon, name="new_request"),
    path("requests/", coming_soon, name="requests"),
]
