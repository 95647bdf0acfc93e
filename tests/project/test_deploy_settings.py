"""Production's transport security comes from the environment (issue 14, item 5): with
DEBUG off, HTTPS everywhere by default (redirect, a year of HSTS with subdomains, secure
cookies), each switchable off for local http; the proxy's HTTPS header is believed only
when named. Each test loads the settings in a fresh interpreter, as gunicorn would."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.support.settings_process import run_with_settings

PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "a-unique-production-key-for-this-test-only"}
ONE_YEAR = 365 * 24 * 60 * 60
REPORT = textwrap.dedent(
    """
    import json, os
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    from django.conf import settings
    names = [
        "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER", "SILENCED_SYSTEM_CHECKS",
    ]
    print(json.dumps({name: getattr(settings, name) for name in names}))
    """
)


def loaded(tmp_path: Path, **env: str) -> dict:
    result = run_with_settings(REPORT, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_is_https_only_by_default(tmp_path):
    # Given DEBUG off and nothing else about HTTPS said
    # When the settings load
    settings = loaded(tmp_path, **PRODUCTION)

    # Then plain http is redirected, HSTS lasts a year with subdomains, cookies are secure
    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SECURE_HSTS_SECONDS"] == ONE_YEAR
    assert settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["CSRF_COOKIE_SECURE"] is True
    # And no client may claim HTTPS through a proxy header nobody configured
    assert settings["SECURE_PROXY_SSL_HEADER"] is None
    # And preloading is left to the domain's owner
    assert settings["SECURE_HSTS_PRELOAD"] is False
    assert settings["SILENCED_SYSTEM_CHECKS"] == ["security.W021"]


def test_empty_variables_count_as_unset_as_docker_compose_passes_them(tmp_path):
    settings = loaded(
        tmp_path,
        **PRODUCTION,
        SECURE_SSL_REDIRECT="",
        SECURE_HSTS_SECONDS="",
        SECURE_PROXY_SSL_HEADER="",
    )

    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SECURE_HSTS_SECONDS"] == ONE_YEAR
    assert settings["SECURE_PROXY_SSL_HEADER"] is None


def test_a_production_build_can_be_tried_over_local_http(tmp_path):
    settings = loaded(
        tmp_path,
        **PRODUCTION,
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="0",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        SECURE_COOKIES="0",
    )

    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 0
    assert settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["CSRF_COOKIE_SECURE"] is False


@pytest.mark.parametrize("header", ["X-Forwarded-Proto", "x-forwarded-proto"])
def test_the_proxy_header_is_believed_only_when_named(tmp_path, header):
    settings = loaded(tmp_path, **PRODUCTION, SECURE_PROXY_SSL_HEADER=header)

    assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_a_domain_owner_can_ask_for_preloading_and_the_reminder_comes_back(tmp_path):
    settings = loaded(tmp_path, **PRODUCTION, SECURE_HSTS_PRELOAD="1")

    assert settings["SECURE_HSTS_PRELOAD"] is True
    assert settings["SILENCED_SYSTEM_CHECKS"] == []


def test_development_asks_for_no_https(tmp_path):
    settings = loaded(tmp_path, DEBUG="1")

    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 0
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["SECURE_PROXY_SSL_HEADER"] is None
