"""Set a user's password from the server's shell, through the password service: the
password is checked against the validators, every API token of the user is revoked and
the change is recorded. Use this rather than Django's `changepassword`, which only
stores the password (docs/security.md, "Sign-in and sessions")."""

from __future__ import annotations

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from navigator.models import User
from navigator.services.passwords import user_password_set

MAX_TRIES = 3


class Command(BaseCommand):
    help = "Set a user's password (revokes their API tokens). Prompts for it twice."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def prompt(self, text: str) -> str:
        return getpass.getpass(text)

    def handle(self, *args, username: str, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as error:
            raise CommandError(f"There is no user {username!r}.") from error
        for _ in range(MAX_TRIES):
            first = self.prompt("New password: ")
            if first != self.prompt("New password (again): "):
                self.stderr.write("The two passwords differ. Try again.")
                continue
            try:
                user_password_set(user=user, password=first)
            except ValidationError as error:
                self.stderr.write("\n".join(error.message_dict.get("password", error.messages)))
                continue
            self.stdout.write(f"Password set for {username!r}; their API tokens were revoked.")
            return
        raise CommandError(f"Password not changed after {MAX_TRIES} tries.")
