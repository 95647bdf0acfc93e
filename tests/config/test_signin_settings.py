"""The sign-in settings production runs with (loaded in a fresh interpreter, as gunicorn
would), and Argon2: the test settings use a fast hasher, so this proves the real one."""

from __future__ import annotations

import json
import textwrap

import pytest
from django.contrib.auth.hashers import check_password, make_password

import config.settings as production
from tests.factories import PASSWORD, UserFactory
from tests.support.settings_process import run_with_settings

REPORT = textwrap.dedent(
    """
    import json, os
    import django
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    django.setup()
    from django.conf import settings
    from django.contrib.auth.hashers import get_hasher, make_password
    print(json.dumps({
        "hashers": settings.PASSWORD_HASHERS,
        "hash": make_password("a-password-for-this-test"),
        "backends": settings.AUTHENTICATION_BACKENDS,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "lockout_parameters": settings.AXES_LOCKOUT_PARAMETERS,
        "cool_off": settings.AXES_COOLOFF_TIME.total_seconds(),
        "idle": settings.EQUINAV_SESSION_IDLE_SECONDS,
        "max": settings.EQUINAV_SESSION_MAX_SECONDS,
        "cookie_age": settings.SESSION_COOKIE_AGE,
        "totp": settings.EQUINAV_REQUIRE_TOTP_FOR_PRIVILEGED,
        "token_hours": settings.REST_KNOX["TOKEN_TTL"].total_seconds() / 3600,
        "rates": settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "auth": settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"],
        "apps": settings.INSTALLED_APPS,
    }))
    """
)
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "a-unique-production-key-for-this-test-only"}


def loaded(tmp_path, **env: str) -> dict:
    result = run_with_settings(REPORT, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_hashes_passwords_with_argon2_and_locks_after_five_failures(tmp_path):
    settings = loaded(tmp_path, **PRODUCTION)

    assert settings["hashers"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert settings["hash"].startswith("argon2$argon2id$")
    assert settings["backends"][0] == "axes.backends.AxesBackend"
    assert settings["failure_limit"] == 5
    assert settings["lockout_parameters"] == ["username", "ip_address"]
    assert settings["cool_off"] == 15 * 60
    assert (settings["idle"], settings["max"], settings["cookie_age"]) == (900, 43_200, 43_200)
    assert settings["totp"] is False
    assert settings["token_hours"] == 10
    # Knox's token check, without its per-request sweep of the caller's other tokens.
    assert settings["auth"][0] == "config.api_auth.TokenAuthentication"
    assert "rest_framework.authtoken" not in settings["apps"]
    assert {key for key, rate in settings["rates"].items() if rate} == {
        "signin",
        "token",
        "token_manage",
        "webhook",
    }


def test_each_limit_comes_from_the_environment(tmp_path):
    settings = loaded(
        tmp_path,
        **PRODUCTION,
        EQUINAV_SIGNIN_FAILURE_LIMIT="3",
        EQUINAV_SIGNIN_COOLOFF_MINUTES="30",
        EQUINAV_SESSION_IDLE_SECONDS="600",
        EQUINAV_SESSION_MAX_SECONDS="28800",
        EQUINAV_REQUIRE_TOTP_FOR_PRIVILEGED="1",
        EQUINAV_API_TOKEN_HOURS="2",
        EQUINAV_THROTTLE_TOKEN="3/min",
    )

    assert settings["failure_limit"] == 3
    assert settings["cool_off"] == 30 * 60
    assert (settings["idle"], settings["max"]) == (600, 28_800)
    assert settings["totp"] is True
    assert settings["token_hours"] == 2
    assert settings["rates"]["token"] == "3/min"


@pytest.mark.django_db
def test_an_old_pbkdf2_hash_still_signs_in_and_is_rehashed_with_argon2(client, settings):
    # Given production's hashers and a user whose password was stored before Argon2
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = UserFactory()
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])

    # When they sign in
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})

    # Then it works, and the stored hash is now Argon2 (and still their password)
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert check_password(PASSWORD, user.password)
