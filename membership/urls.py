from __future__ import annotations

from allauth.account import views as account_views
from allauth.mfa.base import views as mfa_views
from allauth.mfa.recovery_codes import views as recovery_code_views
from allauth.mfa.totp import views as totp_views
from allauth.mfa.webauthn import views as webauthn_views
from django.contrib.auth import views as auth_views
from django.urls import path

from membership import views, views_team
from membership.forms import PasswordChoiceForm
from membership.second_factor import keep_a_sign_in_factor, second_factor_required

app_name = "membership"

# Sign-in pages keep Django's global names (login, logout, password_reset…), which its views use;
# allauth's own views reverse their names (account_login, account_logout…), so those name the
# same pages too.
auth_patterns = [
    path("accounts/login/", account_views.login, name="login"),
    path("accounts/login/", account_views.login, name="account_login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="account_logout"),
    path("accounts/inactive/", account_views.account_inactive, name="account_inactive"),
    path("accounts/password-reset/", views.password_reset, name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(form_class=PasswordChoiceForm),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

# allauth.mfa's pages, listed here rather than include("allauth.mfa.urls"): changing one's second
# factors is behind the portal's step-up (membership.second_factor), and what the portal does not
# offer (trusting a browser, signing up with a passkey) has no URL.
second_factor_patterns = [
    path("", mfa_views.index, name="mfa_index"),
    path("authenticate/", mfa_views.authenticate, name="mfa_authenticate"),
    path("reauthenticate/", mfa_views.reauthenticate, name="mfa_reauthenticate"),
    path(
        "totp/activate/",
        second_factor_required(totp_views.activate_totp),
        name="mfa_activate_totp",
    ),
    path(
        "totp/deactivate/",
        second_factor_required(totp_views.deactivate_totp),
        name="mfa_deactivate_totp",
    ),
    path(
        "recovery-codes/",
        second_factor_required(recovery_code_views.view_recovery_codes),
        name="mfa_view_recovery_codes",
    ),
    path(
        "recovery-codes/generate/",
        second_factor_required(recovery_code_views.generate_recovery_codes),
        name="mfa_generate_recovery_codes",
    ),
    path(
        "recovery-codes/download/",
        second_factor_required(recovery_code_views.download_recovery_codes),
        name="mfa_download_recovery_codes",
    ),
    path("passkeys/", webauthn_views.list_webauthn, name="mfa_list_webauthn"),
    path(
        "passkeys/add/",
        second_factor_required(webauthn_views.add_webauthn),
        name="mfa_add_webauthn",
    ),
    path(
        "passkeys/reauthenticate/",
        webauthn_views.reauthenticate_webauthn,
        name="mfa_reauthenticate_webauthn",
    ),
    path(
        "passkeys/<int:pk>/remove/",
        second_factor_required(keep_a_sign_in_factor(webauthn_views.remove_webauthn)),
        name="mfa_remove_webauthn",
    ),
    path(
        "passkeys/<int:pk>/edit/",
        second_factor_required(webauthn_views.edit_webauthn),
        name="mfa_edit_webauthn",
    ),
    path("passkeys/sign-in/", webauthn_views.login_webauthn, name="mfa_login_webauthn"),
]

urlpatterns = [
    path("account/language/", views.set_language, name="set_language"),
    path("account/organization/", views.switch_organization, name="switch_organization"),
    path("account/security/setup/", views.second_factor_setup, name="second_factor_setup"),
    path("account/users/", views_team.users, name="users"),
    path("account/users/add/", views_team.user_add, name="user_add"),
    path("account/users/<int:membership_id>/", views_team.user_edit, name="user_edit"),
    path("account/users/<int:membership_id>/remove/", views_team.user_remove, name="user_remove"),
    path(
        "account/users/invitations/<int:invitation_id>/resend/",
        views_team.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "account/users/invitations/<int:invitation_id>/cancel/",
        views_team.invitation_cancel,
        name="invitation_cancel",
    ),
    path(
        "account/users/<int:membership_id>/reset-second-factor/",
        views_team.user_reset_second_factor,
        name="user_reset_second_factor",
    ),
    path("account/profile/", views_team.profile, name="profile"),
    path("invitations/<str:token>/", views_team.invitation_accept, name="invitation_accept"),
]
