"""API clients and credentials for the tests.

Every test that needs a real API token gets it from `token_authorization` (and a token
that no longer works from `revoked_token_authorization`): the one place that knows
how tokens are made, so that a change of token model changes only this file.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

# The scheme the API's token authentication names in Authorization and WWW-Authenticate.
TOKEN_SCHEME = "Token"


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def token_authorization(user) -> str:
    """An Authorization header value carrying a new, valid token for `user`."""
    _, token = AuthToken.objects.create(user=user)
    return f"{TOKEN_SCHEME} {token}"


def revoked_token_authorization(user) -> str:
    """An Authorization header value whose token was valid for `user`, then revoked."""
    instance, token = AuthToken.objects.create(user=user)
    instance.delete()
    return f"{TOKEN_SCHEME} {token}"


def expired_token_authorization(user) -> str:
    """An Authorization header value whose token was valid for `user` and has expired."""
    instance, token = AuthToken.objects.create(user=user)
    AuthToken.objects.filter(pk=instance.pk).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    return f"{TOKEN_SCHEME} {token}"
