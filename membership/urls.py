from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from membership import views, views_team
from membership.forms import PasswordChoiceForm

app_name = "membership"

# Sign-in pages keep Django's global names (login, logout, password_reset…), which its views use.
auth_patterns = [
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(
            email_template_name="registration/password_reset_email.txt",
            html_email_template_name="registration/password_reset_email.html",
            subject_template_name="registration/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(form_class=PasswordChoiceForm),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    path("account/language/", views.set_language, name="set_language"),
    path("account/organization/", views.switch_organization, name="switch_organization"),
    path("account/users/", views_team.users, name="users"),
    path("account/users/add/", views_team.user_add, name="user_add"),
    path("account/users/<int:membership_id>/", views_team.user_edit, name="user_edit"),
    path("account/users/<int:membership_id>/remove/", views_team.user_remove, name="user_remove"),
    path(
        "account/users/<int:membership_id>/resend-invitation/",
        views_team.user_resend_invitation,
        name="user_resend_invitation",
    ),
    path("account/profile/", views_team.profile, name="profile"),
    path("invitations/<str:token>/", views_team.invitation_accept, name="invitation_accept"),
]
