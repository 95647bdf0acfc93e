"""seed_demo refuses to run with DEBUG off (issue 14, item 5): it creates a superuser
and users of every role with the published demo password."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from navigator.models import User
from patients.models import Patient
from tests.support.settings_process import run_with_settings

pytestmark = pytest.mark.django_db

RUN_SEED_DEMO = (
    "import os, sys\n"
    "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'\n"
    "from django.core.management import execute_from_command_line\n"
    "execute_from_command_line(['manage.py', 'seed_demo'])\n"
)


def test_it_refuses_with_debug_off_and_creates_nothing(settings):
    # Given a production-like setting
    settings.DEBUG = False
    users_before = User.objects.count()

    # When someone runs the demo seed
    with pytest.raises(CommandError, match="only runs with DEBUG on"):
        call_command("seed_demo", "--patients", "1", stdout=StringIO())

    # Then no user (above all no superuser with the demo password) and no patient exists
    assert User.objects.count() == users_before
    assert not User.objects.filter(is_superuser=True).exists()
    assert not Patient.objects.exists()


def test_from_the_command_line_in_production_it_exits_with_the_reason(tmp_path):
    # Given production settings, loaded afresh as manage.py would (a database of its own)
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "a-unique-production-key-for-this-test-only",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
    }

    # When the demo seed is run
    result = run_with_settings(RUN_SEED_DEMO, tmp_path, **env)

    # Then it exits non-zero, saying why
    assert result.returncode == 1
    assert "CommandError: seed_demo only runs with DEBUG on" in result.stderr
