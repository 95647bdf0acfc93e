"""Setting a user's password: the one way a password changes (the admin's
password form and the `changepassword` command come here too).

The new password must pass AUTH_PASSWORD_VALIDATORS; it is stored with the first of
PASSWORD_HASHERS (Argon2); every API token of the user is revoked, since whoever held
the old password may have minted them; the change is recorded (never the password)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from navigator.models import User
from navigator.security_events import PASSWORD_CHANGED, security_event
from navigator.services.api_tokens import api_tokens_revoke_all


def user_password_set(
    *,
    user: User,
    password: str | None,
    request: HttpRequest | None = None,
    changed_by: User | None = None,
) -> None:
    """Give `user` a new password, or none (None: password sign-in turned off).
    Raises ValidationError (password) if it is too weak."""
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from error
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save(update_fields=["password"])
        api_tokens_revoke_all(user=user, request=request, reason="password_changed")
    detail = {"changed_by": str(changed_by.pk)} if changed_by is not None else None
    security_event(action=PASSWORD_CHANGED, request=request, user=user, detail=detail)
