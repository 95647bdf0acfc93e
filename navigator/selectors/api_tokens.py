"""A user's own API tokens, newest first, expired ones left out."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone
from knox.models import AuthToken

from navigator.models import User


def api_tokens_of(user: User) -> QuerySet[AuthToken]:
    now = timezone.now()
    return (
        AuthToken.objects.filter(user=user)
        .filter(Q(expiry__isnull=True) | Q(expiry__gt=now))
        .only("token_key", "created", "expiry", "user_id")
        .order_by("-created")
    )
