"""`manage.py set_user_password`: the operator's way to set a password, through the
password service (validated, API tokens revoked)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from knox.models import AuthToken

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

COMMAND = "navigator.management.commands.set_user_password.Command.prompt"


def test_the_command_sets_the_password_and_revokes_the_tokens(capsys):
    user = UserFactory()
    AuthToken.objects.create(user=user)

    with mock.patch(COMMAND, side_effect=["a-new-long-passphrase-7"] * 2):
        call_command("set_user_password", user.username)

    user.refresh_from_db()
    assert user.check_password("a-new-long-passphrase-7")
    assert not AuthToken.objects.filter(user=user).exists()
    assert "revoked" in capsys.readouterr().out


def test_a_weak_password_is_refused_three_times_then_nothing_changes(capsys):
    user = UserFactory()
    AuthToken.objects.create(user=user)

    with mock.patch(COMMAND, side_effect=["short"] * 6), pytest.raises(CommandError):
        call_command("set_user_password", user.username)

    assert "too short" in capsys.readouterr().err
    assert AuthToken.objects.filter(user=user).exists()


def test_an_unknown_user_is_a_clear_error():
    with pytest.raises(CommandError, match="no user 'ghost'"):
        call_command("set_user_password", "ghost")
