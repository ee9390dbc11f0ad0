"""Production settings, checked the way production starts: a fresh process with only its env.

The environment is the one docs/production.md documents. No Django test settings leak in: each
test runs ``manage.py`` (or gunicorn) in a subprocess with a clean environment.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.client import HTTPResponse
from pathlib import Path

import pytest

from tests.plugins.services import wait_until

# Processes with an environment of their own: the same whatever the suite's configuration, so
# CI runs them once, in the nothing-configured run (pyproject.toml, marker any_backend).
pytestmark = pytest.mark.any_backend

BASE_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "portal.example.com,127.0.0.1",
        "SITE_URL": "https://portal.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "STRIPE_SECRET_KEY": "sk_live_" + secrets.token_hex(12),
        "STRIPE_PUBLISHABLE_KEY": "pk_live_" + secrets.token_hex(12),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(12),
        "STRIPE_API_BASE": "",
        "TRUSTED_PROXY_COUNT": "1",
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean(tmp_path: Path) -> None:
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_catches_a_debug_deployment(tmp_path: Path) -> None:
    # The same check fails loudly when DEBUG slips into production: proof the check has teeth.
    env = production_env(tmp_path, DEBUG="1")

    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout  # DEBUG is on


def test_it_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["SECRET_KEY"]

    result = manage(env, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_it_refuses_a_short_secret_key(tmp_path: Path) -> None:
    result = manage(production_env(tmp_path, SECRET_KEY="changeme"), "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is too weak" in result.stderr


def test_it_refuses_to_start_without_allowed_hosts(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["ALLOWED_HOSTS"]

    result = manage(env, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: ALLOWED_HOSTS is not set" in result.stderr


# SITE_URL: links in emails would otherwise point at a development address.
@pytest.mark.parametrize(
    "name", ["STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "SITE_URL"]
)
def test_it_refuses_to_start_without_stripe_keys_or_site_url(tmp_path: Path, name: str) -> None:
    env = production_env(tmp_path)
    del env[name]

    result = manage(env, "check")

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name} is not set" in result.stderr


# What production settings are: each line a protection one variable could have weakened.
EFFECTIVE = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'testing': s.TESTING, 'secret_key': s.SECRET_KEY, 'hashers': s.PASSWORD_HASHERS,"
    "'ssl_redirect': s.SECURE_SSL_REDIRECT, 'hsts': s.SECURE_HSTS_SECONDS,"
    "'session_cookie_secure': s.SESSION_COOKIE_SECURE, 'email': s.EMAIL_BACKEND,"
    "'insecure_passkeys': s.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN, 'stripe': s.STRIPE_API_BASE,"
    "'static': s.STORAGES['staticfiles']['BACKEND'], 'whitenoise': s.WHITENOISE_USE_FINDERS}))"
)


def effective_settings(env: dict[str, str]) -> dict:
    result = manage(env, "shell", "-c", EFFECTIVE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_testing_in_the_environment_changes_nothing(tmp_path: Path, value: str) -> None:
    # Before: TESTING=1 gave production the development SECRET_KEY, the MD5 hasher, no HTTPS
    # redirect and email to memory. Test settings come from pytest being loaded, nothing else.
    env = production_env(tmp_path)

    production = effective_settings(env)
    with_testing = effective_settings({**env, "TESTING": value})

    assert with_testing == production
    assert production["testing"] is False
    assert production["hashers"][0] != "django.contrib.auth.hashers.MD5PasswordHasher"
    assert production["ssl_redirect"] is True
    assert production["secret_key"] == env["SECRET_KEY"]


def test_testing_in_the_environment_does_not_excuse_a_missing_secret_key(tmp_path: Path) -> None:
    env = production_env(tmp_path, TESTING="1")
    del env["SECRET_KEY"]

    result = manage(env, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "check"),
    [
        ("MFA_REQUIRED", "0", "partnerportal.W001"),
        ("STRIPE_API_BASE", "http://127.0.0.1:8420", "partnerportal.W002"),
        ("SITE_URL", "http://portal.example.com", "partnerportal.W003"),
        ("SECURE_SSL_REDIRECT", "0", "security.W008"),
        ("SECURE_HSTS_SECONDS", "0", "security.W004"),
    ],
)
def test_the_deploy_check_names_a_protection_one_variable_turned_off(
    tmp_path: Path, variable: str, value: str, check: str
) -> None:
    result = manage(
        production_env(tmp_path, **{variable: value}),
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )

    assert result.returncode != 0
    assert check in result.stderr + result.stdout


def test_development_runs_with_nothing_set(tmp_path: Path) -> None:
    # The embedded default: DEBUG=1 and nothing else still starts.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "DEBUG": "1"}

    result = manage(env, "check")

    assert result.returncode == 0, result.stderr


# --- gunicorn, as documented in docs/production.md -----------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # keep 301s visible to the test
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _get(url: str, headers: dict[str, str] | None = None) -> HTTPResponse:
    request = urllib.request.Request(url, headers={"Host": "portal.example.com", **(headers or {})})
    try:
        return _opener.open(request, timeout=10)
    except urllib.error.HTTPError as error:
        return error  # type: ignore[return-value]


HTTPS = {"X-Forwarded-Proto": "https"}


def _answers(url: str) -> bool:
    try:
        _get(url, HTTPS)
    except OSError:  # refused, or no worker yet within the request's timeout
        return False
    return True


# The tests that share one gunicorn run in one pytest-xdist worker (`make test`): it starts once.
GUNICORN_TESTS = pytest.mark.xdist_group("gunicorn")


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("production")
    env = production_env(tmp_path)
    collected = manage(env, "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stderr
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "partnerportal.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--timeout",
            "30",
            "--forwarded-allow-ips",
            "127.0.0.1",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Answering HTTP, not only bound: the master binds the port before its workers have
        # loaded Django, which on a loaded machine takes longer than a request's timeout.
        wait_until(
            lambda: _answers(f"{base}/healthz/live"),
            timeout=60,
            what="gunicorn answering",
            process=process,
            log_path=tmp_path / "gunicorn.log",
        )
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


@GUNICORN_TESTS
def test_gunicorn_redirects_plain_http_to_https(gunicorn_server: str) -> None:
    response = _get(f"{gunicorn_server}/accounts/login/")

    assert response.status == 301
    assert response.headers["Location"] == "https://portal.example.com/accounts/login/"


@GUNICORN_TESTS
def test_gunicorn_serves_pages_with_hsts_csp_and_secure_cookies(gunicorn_server: str) -> None:
    response = _get(f"{gunicorn_server}/accounts/login/", HTTPS)

    assert response.status == 200
    assert response.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self' https://js.stripe.com" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    cookies = response.headers.get_all("Set-Cookie")
    csrf = next(c for c in cookies if c.startswith("csrftoken="))
    assert "Secure" in csrf and "SameSite=Lax" in csrf


@GUNICORN_TESTS
def test_gunicorn_serves_static_files_through_whitenoise(gunicorn_server: str) -> None:
    page = _get(f"{gunicorn_server}/accounts/login/", HTTPS).read().decode()
    # The page links the hashed, compressed file collectstatic made (ManifestStaticFilesStorage).
    start = page.index("/static/css/portal.")
    stylesheet = page[start : page.index('"', start)]
    assert stylesheet != "/static/css/portal.css"

    response = _get(f"{gunicorn_server}{stylesheet}", {**HTTPS, "Accept-Encoding": "gzip"})

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]


@GUNICORN_TESTS
def test_gunicorn_answers_the_health_probe_over_plain_http(gunicorn_server: str) -> None:
    response = _get(f"{gunicorn_server}/healthz")

    # Not redirected; real Stripe cannot be reached from the test machine, so 503 is expected
    # there, while the database and the filesystem broker are up.
    assert response.status in (200, 503)
    assert response.headers["Content-Type"] == "application/json"
    checks = json.loads(response.read())["checks"]
    assert checks["database"]["ok"] is True
    assert checks["broker"]["ok"] is True
