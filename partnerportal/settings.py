"""Settings for Partner Portal.

Everything comes from the environment through one django-environ ``env`` (the names are fixed;
the README lists them). With nothing set, the portal runs on the embedded default: SQLite, a
Celery broker that needs no server, localstripe on loopback, and email printed to the console.
The product's rules and their numbers are in docs/product.md.

Longer than the house's ~500 lines: one module for every environment, each setting next to its
reason, so a rule's number is found by its name here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Local state of a development run: the SQLite database, the filesystem broker, beat's schedule,
# media. scripts/dev.py reads the same variable (localstripe's state).
VAR_DIR = Path(env.str("VAR_DIR", default="") or BASE_DIR / "var").resolve()

DEBUG = env.bool("DEBUG", default=False)
# Test settings only in a process of the test run, one that has loaded pytest (the Celery workers
# and commands the tests start load it too: tests/plugins/in_test_run.py). Never from the
# environment: one variable must not turn production settings into test settings.
TESTING = "pytest" in sys.modules

# Commands that only read the code (models, templates) and never serve, sign or charge anything:
# they run without production secrets, so `makemigrations --check` works on a bare checkout.
CODE_ONLY_COMMAND = len(sys.argv) > 1 and sys.argv[1] in {
    "makemigrations",
    "makemessages",
    "compilemessages",
}

# Production (DEBUG off, outside tests) has no defaults for secrets: a missing one stops start-up.
PRODUCTION = not DEBUG and not TESTING and not CODE_ONLY_COMMAND

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not PRODUCTION:
        # Only for development and tests; production must set its own.
        SECRET_KEY = "insecure-development-key-" + "x" * 40
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "value (or DEBUG=1 for local development)."
        )
elif PRODUCTION and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak: use at least 50 random characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
# Old keys still accepted for signatures (sessions, reset links) while rotating SECRET_KEY.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

if PRODUCTION and not env.list("ALLOWED_HOSTS", default=[]):
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. List the host names the portal answers to, comma-separated."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
# Every absolute link (emails, the password reset's included) starts with SITE_URL, never with
# the request's Host header: production must say what it is.
if PRODUCTION and not env.str("SITE_URL", default=""):
    raise ImproperlyConfigured(
        "SITE_URL is not set. Set it to the portal's origin, e.g. https://portal.example.com."
    )
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "core",
    "membership",
    "offers",
    "billing",
    "support",
    "partnerportal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestLogMiddleware",
    # Early, so that every response gets the headers, the ones refused below included.
    "partnerportal.middleware.SecurityHeadersMiddleware",
    "partnerportal.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.IdRangeMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "membership.middleware.UserLanguageMiddleware",
    "membership.middleware.CurrentOrganizationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After the session, the user and messages: a signed-in session without its second factor
    # reaches only the setup, the check and sign-out (membership/second_factor.py).
    "membership.middleware.SecondFactorRequiredMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "partnerportal.urls"
WSGI_APPLICATION = "partnerportal.wsgi.application"
ASGI_APPLICATION = "partnerportal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "membership.context_processors.portal",
            ],
        },
    }
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server, the worker and beat share one SQLite file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # A database that does not answer fails fast (requests, /healthz) instead of hanging.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
        )
SILENCED_SYSTEM_CHECKS: list[str] = []
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The staff overview's covering indexes (INCLUDE) are a PostgreSQL speed-up; SQLite builds
    # them without the extra columns, which is all the embedded default needs.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "membership.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)

# Sign-in protection (django-axes, see partnerportal/sign_in_limits.py and docs/sign-in.md):
# failures — wrong passwords and wrong second-factor codes — are counted per account+address, per
# account and per address, each with its own limit; reaching any of them locks sign-in for that
# account or address until AXES_COOLOFF_TIME has passed without failures. The account-wide limit
# does not lock the owner out of an address they passed the second factor from before
# (SIGN_IN_KNOWN_ADDRESS_DAYS); a success clears only that account's failures from that address;
# a completed password reset clears the account's failures everywhere.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)  # one account from one address
SIGN_IN_LOCKOUT = [
    (("username", "ip_address"), AXES_FAILURE_LIMIT),
    (("username",), env.int("SIGN_IN_ACCOUNT_FAILURE_LIMIT", default=10)),
    (("ip_address",), env.int("SIGN_IN_ADDRESS_FAILURE_LIMIT", default=20)),
]
SIGN_IN_KNOWN_ADDRESS_DAYS = env.int("SIGN_IN_KNOWN_ADDRESS_DAYS", default=180)
AXES_LOCKOUT_PARAMETERS = [list(parameters) for parameters, _limit in SIGN_IN_LOCKOUT]
AXES_HANDLER = "partnerportal.sign_in_limits.TieredLockoutHandler"
AXES_USERNAME_CALLABLE = "partnerportal.sign_in_limits.normalized_username"
AXES_CLIENT_IP_CALLABLE = "core.middleware.client_ip"
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
# Failures during a lockout do not extend it: the page promises a definite wait.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Axes would clear every failure of the address (anyone's): the handler clears only the
# account's own failures from that address instead.
AXES_RESET_ON_SUCCESS = False
AXES_USERNAME_FORM_FIELD = "login"
AXES_LOCKOUT_TEMPLATE = "membership/locked_out.html"
AXES_VERBOSE = False
# Successful sign-ins are in our own audit trail (membership.AuditEvent).
AXES_DISABLE_ACCESS_LOG = True
# Proxies in front of the portal that append to X-Forwarded-For (1 behind a load balancer).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Second factor (django-allauth's account and mfa apps; docs/sign-in.md). Everyone signs in with
# email and password, then an authenticator-app code, a passkey or a one-time recovery code.
# MFA_REQUIRED: an account without a second factor must set one up before anything else.
MFA_REQUIRED = env.bool("MFA_REQUIRED", default=True)
# Money and people (purchase, renew, payment methods, users and roles, the billing profile, staff
# cancel/refund) ask for the second factor again when the last check is older than this.
MFA_STEP_UP_MINUTES = env.int("MFA_STEP_UP_MINUTES", default=15)
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_WEBAUTHN_USER_VERIFICATION = "required"
# WebAuthn needs https, except on loopback for development and tests (http://localhost).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG or TESTING
MFA_RECOVERY_CODE_COUNT = 10
# Shown once, right after they are made (and downloadable then); made anew on request.
MFA_RECOVERY_CODES_SHOW_ONCE = True
MFA_TOTP_ISSUER = "Partner Portal"
# A used code is remembered (in the cache, for its window) and refused a second time.
MFA_TOTP_TOLERANCE = 1
MFA_ADAPTER = "membership.second_factor.PortalMFAAdapter"
MFA_FORMS = {
    "authenticate": "membership.forms.SecondFactorSignInForm",
    "reauthenticate": "membership.forms.SecondFactorCheckForm",
    "activate_totp": "membership.forms.AuthenticatorAppSetupForm",
    "add_webauthn": "membership.forms.PasskeyAddForm",
    "authenticate_webauthn": "membership.forms.PasskeySignInForm",
    "reauthenticate_webauthn": "membership.forms.PasskeyCheckForm",
    "login_webauthn": "membership.forms.PasskeyPasswordlessForm",
}
# Managing one's second factors is itself behind the step-up (membership.second_factor), not
# allauth's own password re-check.
MFA_REAUTHENTICATION_REQUIRED = False
ACCOUNT_ADAPTER = "membership.second_factor.PortalAccountAdapter"
ACCOUNT_FORMS = {"login": "membership.forms.SignInForm"}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_REAUTHENTICATION_METHODS = ("mfa",)
ACCOUNT_REAUTHENTICATION_TIMEOUT = MFA_STEP_UP_MINUTES * 60
# Sign-in limits are django-axes' (above), kept in the database and shown to staff; allauth's
# cache-based limits would count a second time, per process when there is no Redis.
ACCOUNT_RATE_LIMITS = False
ACCOUNT_EMAIL_NOTIFICATIONS = False
ACCOUNT_PREVENT_ENUMERATION = True

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
# WhiteNoise serves static files in every process (gunicorn included); in development and tests
# straight from the source folders, in production from STATIC_ROOT after collectstatic.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
# Any request body larger than this is refused with 413 (partnerportal.middleware).
# Five support attachments of SUPPORT_ATTACHMENT_MAX_BYTES and the form still fit.
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", default=32 * 1024 * 1024)

# Email: console unless EMAIL_URL says otherwise (e.g. smtp://127.0.0.1:1025).
EMAIL_URL = env.str("EMAIL_URL", default="consolemail://")
vars().update(env.email_url_config(EMAIL_URL))
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Partner Portal <noreply@partnerportal.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Every email leaves from a Celery worker after the commit (core/tasks.py). Tests run those tasks
# in-process at once instead (Celery's eager apply: no broker, no commit to wait for), unless the
# test run says EMAIL_TASKS_EAGER=0 (the benches' workers, to queue them as production does).
# Outside a test run they are always queued.
EMAIL_TASKS_EAGER = TESTING and env.bool("EMAIL_TASKS_EAGER", default=True)
STAFF_ALERT_EMAIL = env.str("STAFF_ALERT_EMAIL", default="support@partnerportal.example")

# Cache: Redis when REDIS_URL is set (shared by web processes), else local memory.
# CACHE_KEY_PREFIX keeps two portals (or test runs) sharing one Redis database apart.
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default=""),
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # The main menu as rendered for a language and a page ({% cache %} in templates/base.html):
    # the same for every partner, so each process keeps it rather than asking Redis.
    "template_fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "template-fragments",
        "OPTIONS": {"MAX_ENTRIES": 1000},
    },
}

# Celery: REDIS_URL in CI and production; else a filesystem broker that needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
if TESTING and CELERY_BROKER_URL == "filesystem://":
    # Tests without Redis must not leave tasks in var/ for `make run`'s worker to pick up later.
    CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "celery-broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "control_folder": str(VAR_DIR / "celery-control"),
    }
else:
    # No countdown or ETA we use is longer than this, so a late ack never causes a redelivery.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_TASK_ACKS_LATE = True
# Workers keep LOGGING below (one JSON line per record) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_TIMEZONE = "UTC"
# Renewal batches have a queue of their own, so that emails, reminders and the reconciliation
# never wait behind an anniversary day's thousands of renewals; its workers use a thread pool
# (the work is waiting on Stripe: docs/production.md).
CELERY_RENEWALS_QUEUE = env.str("CELERY_RENEWALS_QUEUE", default="renewals")
CELERY_TASK_ROUTES = {"billing.tasks.renewals_charge": {"queue": CELERY_RENEWALS_QUEUE}}
# Celery 6 changes this default to True; pinned so the upgrade changes nothing. On a lost broker
# connection the running tasks' messages are redelivered anyway (acks_late: they cannot be acked
# on the dead connection); cancelling them keeps a task from running twice at once. Every task is
# safe to run again (the services claim their work), so nothing is lost either way.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Stripe: STRIPE_API_BASE empty means real Stripe; http://127.0.0.1:8420 means localstripe.
# Tests never talk to the real Stripe by accident: they default to localstripe too.
STRIPE_API_BASE = env.str(
    "STRIPE_API_BASE", default="http://127.0.0.1:8420" if DEBUG or TESTING else ""
)
STRIPE_SECRET_KEY = env.str(
    "STRIPE_SECRET_KEY", default="sk_test_localstripe" if DEBUG or TESTING else ""
)
STRIPE_PUBLISHABLE_KEY = env.str(
    "STRIPE_PUBLISHABLE_KEY", default="pk_test_localstripe" if DEBUG or TESTING else ""
)
STRIPE_WEBHOOK_SECRET = env.str(
    "STRIPE_WEBHOOK_SECRET", default="whsec_localstripe" if DEBUG or TESTING else ""
)
STRIPE_JS_URL = env.str(
    "STRIPE_JS_URL",
    default=f"{STRIPE_API_BASE}/js.stripe.com/v3/"
    if STRIPE_API_BASE
    else "https://js.stripe.com/v3/",
)
# A webhook's signature may be this old or this far in the future (clocks drift); older or newer
# is refused. Stripe's events are a few kilobytes: a larger body is refused before it is read.
STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300
STRIPE_WEBHOOK_MAX_BYTES = env.int("STRIPE_WEBHOOK_MAX_BYTES", default=1024 * 1024)
# How long one Stripe call may take before its outcome counts as unknown (billing/stripe_gateway.py
# says why 20 s and not the SDK's 80 s).
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
# Stripe's rate limit for the account (requests per second: 100 in live mode, 25 in test mode),
# and the share of it the billing jobs pace themselves to; the rest is the partners' room.
# Tests talk to a localstripe of their own, which has no limit: they pace only when they say so.
STRIPE_RATE_LIMIT = env.float(
    "STRIPE_RATE_LIMIT",
    default=1000.0 if TESTING else 25.0 if STRIPE_SECRET_KEY.startswith("sk_test") else 100.0,
)
STRIPE_JOBS_RATE_SHARE = env.float("STRIPE_JOBS_RATE_SHARE", default=0.95)
# Stripe calls one billing batch makes at once (they wait on Stripe; billing.services.payments).
STRIPE_BATCH_CONCURRENCY = env.int("STRIPE_BATCH_CONCURRENCY", default=8)
# The jobs' token bucket (in Redis when REDIS_URL is set): one per Stripe account.
STRIPE_JOBS_BUCKET = env.str("STRIPE_JOBS_BUCKET", default="stripe-jobs")

# Payments (docs/payments.md). A claim older than PAYMENT_CLAIM_TIMEOUT belongs to a charger that
# was stopped: it is Celery's hard time limit for the charging tasks (a web request is killed by
# gunicorn long before), so the reconciliation, which beat runs every
# PAYMENT_RECONCILE_EVERY_SECONDS, may take the order over. An order still unsettled after
# PAYMENT_RECONCILE_ATTEMPTS reconciliations goes to staff ("needs attention").
PAYMENT_CLAIM_TIMEOUT = env.int("PAYMENT_CLAIM_TIMEOUT", default=180)
PAYMENT_RECONCILE_EVERY_SECONDS = env.int("PAYMENT_RECONCILE_EVERY_SECONDS", default=60)
PAYMENT_RECONCILE_ATTEMPTS = env.int("PAYMENT_RECONCILE_ATTEMPTS", default=10)

# Staff's background jobs (docs/staff.md, "Long work in the admin"): beat's sweep ends a running
# job whose progress has not moved for this long (its worker is gone; a job writes progress every
# few seconds, and Celery's hard time limit is 5 minutes), and deletes the files of jobs finished
# more than BACKGROUND_JOB_FILES_KEEP_DAYS ago.
BACKGROUND_JOB_STALLED_AFTER_SECONDS = env.int("BACKGROUND_JOB_STALLED_AFTER_SECONDS", default=600)
BACKGROUND_JOB_FILES_KEEP_DAYS = env.int("BACKGROUND_JOB_FILES_KEEP_DAYS", default=30)

# /healthz/ready asks Stripe at most this often, however often it is probed (partnerportal/health.py).
HEALTH_STRIPE_EVERY_SECONDS = env.int("HEALTH_STRIPE_EVERY_SECONDS", default=60)

# Partnership > Offers keeps the catalog this long in each process (offers.selectors); tests,
# which change the catalog between requests, read it every time.
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", default=0 if TESTING else 30)

# Business rules (docs/product.md); settings so that staff can tune them per deployment.
RENEWAL_WINDOW_DAYS_BEFORE = 90
RENEWAL_GRACE_DAYS = 30
RENEWAL_RETRY_DAYS = (1, 3, 7, 14)
# Due subscriptions charged by one task (billing.services.renewals.renewal_batches).
RENEWAL_BATCH_SIZE = env.int("RENEWAL_BATCH_SIZE", default=20)
REFUND_WINDOW_DAYS = 30
REMINDER_DAYS_BEFORE_EXPIRY = (30, 15, 7, 1)
REMINDER_UPCOMING_RENEWAL_DAYS = 15
REMINDER_GRACE_END_DAYS = 7
REMINDER_CARD_EXPIRY_DAYS = 30
SUPPORT_RESPONSE_HOURS = {"A": 2, "B": 4, "C": 8}
SUPPORT_AUTO_CLOSE_DAYS = 7
SUPPORT_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
SUPPORT_ATTACHMENT_TYPES = (
    "image/png",
    "image/jpeg",
    "application/pdf",
    "text/plain",
    "text/csv",
)
INVITATION_VALID_DAYS = 7
# Rate limits on what emails people (core/rate_limits.py, docs/abuse.md): "<count>/<s|m|h|d>",
# counted in the cache (Redis with REDIS_URL: shared by every process).
RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT = env.str(
    "RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT", default="3/h"
)
RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS = env.str(
    "RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS", default="20/h"
)
# Invitations and new links, together.
RATE_LIMIT_INVITATIONS_PER_ORGANIZATION = env.str(
    "RATE_LIMIT_INVITATIONS_PER_ORGANIZATION", default="50/d"
)
RATE_LIMIT_INVITATIONS_PER_ACTOR = env.str("RATE_LIMIT_INVITATIONS_PER_ACTOR", default="20/h")
RATE_LIMIT_INVITATIONS_PER_RECIPIENT = env.str(
    "RATE_LIMIT_INVITATIONS_PER_RECIPIENT", default="3/d"
)
# Emails that let someone in (reset and invitation links) one address gets, from anyone; the
# worker sends no more (a backstop behind the limits above, which the pages report).
RATE_LIMIT_SIGN_IN_EMAILS_PER_RECIPIENT = env.str(
    "RATE_LIMIT_SIGN_IN_EMAILS_PER_RECIPIENT", default="10/d"
)
# The seller, frozen onto every invoice when it is issued (docs/invoices.md). It must be
# established in the EU: its country decides the VAT rules (billing/services/tax.py).
SELLER_NAME = env.str("SELLER_NAME", default="Partner Portal Ireland Limited")
SELLER_ADDRESS = env.str(
    "SELLER_ADDRESS", default="1 Grand Canal Quay\nDublin 2, D02 X576\nIreland", multiline=True
)
SELLER_COUNTRY = env.str("SELLER_COUNTRY", default="IE")
SELLER_VAT_ID = env.str("SELLER_VAT_ID", default="IE9876543H")
# The online VAT id check against the EU's VIES service (membership/vat_ids.py); off by
# default: format and check digits are checked offline. It needs a SOAP client (zeep).
VAT_ID_VIES_CHECK = env.bool("VAT_ID_VIES_CHECK", default=False)
VAT_ID_VIES_TIMEOUT_SECONDS = env.int("VAT_ID_VIES_TIMEOUT_SECONDS", default=10)

# Security headers and cookies; production values are enforced when DEBUG is off.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz(/live|/ready)?$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    for _name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"):
        if not vars()[_name]:
            raise ImproperlyConfigured(f"{_name} is not set; production needs it.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "filters": {"context": {"()": "core.logging.ContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Drop Django's own handlers (plain text in DEBUG, mail_admins): records go up to the
        # root's JSON handler like everyone else's.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # runserver's access log duplicates partnerportal.request.
        "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
        "axes": {"level": "WARNING"},
        "celery": {"level": "INFO"},
        # The Stripe SDK logs every request at INFO; our own lines say what matters.
        "stripe": {"level": "WARNING"},
        # WeasyPrint logs each step of every PDF at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # In memory (the test run's own process gets Django's in-memory backend anyway); a Celery
    # worker a test starts is given EMAIL_URL when the test reads what it sends.
    if not env.str("EMAIL_URL", default=""):
        EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    MEDIA_ROOT = VAR_DIR / "test-media"
