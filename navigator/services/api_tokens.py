"""API tokens (django-rest-knox): issued to a user who signed in with their password
(and TOTP code where required), stored only as a SHA-512 digest, expiring after
REST_KNOX["TOKEN_TTL"], revoked one by one or all at once by their owner, and all
revoked when the password changes (navigator.services.passwords).

A token is named by its `token_key`: its first 15 characters, which knox stores in
clear to find the digest to compare. Knowing them is not knowing the token."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import knox_settings

from navigator.models import User
from navigator.security_events import TOKEN_ISSUED, TOKEN_REVOKED, security_event


def api_token_issue(*, user: User, request: HttpRequest | None = None) -> tuple[AuthToken, str]:
    """A new token for `user`: the stored row and the token itself, shown only now."""
    limit = knox_settings.TOKEN_LIMIT_PER_USER
    with transaction.atomic():
        # The user's row locked: two requests at once cannot both pass the limit.
        User.objects.select_for_update().filter(pk=user.pk).first()
        AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        if limit is not None and AuthToken.objects.filter(user=user).count() >= limit:
            raise PermissionDenied(
                f"You already have {limit} API tokens: revoke one you no longer use first."
            )
        instance, token = AuthToken.objects.create(user=user)
    security_event(
        action=TOKEN_ISSUED, request=request, user=user, detail={"token_key": instance.token_key}
    )
    return instance, token


def api_token_revoke(*, user: User, token_key: str, request: HttpRequest | None = None) -> None:
    """Revoke one of the user's own tokens. Another user's token is "not found"."""
    deleted, _ = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    if not deleted:
        raise ValidationError({"token_key": "You have no API token with this key."})
    security_event(
        action=TOKEN_REVOKED, request=request, user=user, detail={"token_key": token_key}
    )


def api_tokens_revoke_all(
    *, user: User, request: HttpRequest | None = None, reason: str = "owner"
) -> int:
    """Revoke every token of the user; how many there were."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    if deleted:
        security_event(
            action=TOKEN_REVOKED,
            request=request,
            user=user,
            detail={"tokens": str(deleted), "reason": reason},
        )
    return deleted
