from __future__ import annotations

from django.urls import path

from support import views

app_name = "support"

urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.new_request, name="new_request"),
    path("requests/", views.requests, name="requests"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/submitted/", views.request_submitted, name="request_submitted"),
    path("requests/<int:pk>/reply/", views.request_reply, name="request_reply"),
    path("requests/<int:pk>/close/", views.request_close, name="request_close"),
    path(
        "requests/<int:pk>/files/<int:attachment_pk>/",
        views.attachment_download,
        name="attachment",
    ),
]
