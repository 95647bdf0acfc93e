"""The API's token check: knox's, without its sweep of the user's other tokens on
every request.

Knox's `TokenAuthentication` reads every token of the caller on every request
(one query, whatever the caller asked) to delete the ones that have expired. That
sweep adds nothing here: a user's expired tokens are deleted when they are issued
a new one (`navigator.services.api_tokens.api_token_issue`), never listed
(`navigator.selectors.api_tokens`), and each is refused and deleted when it is
presented, which this class still does (knox's own check of the token presented).
So a request makes one query for its token (with its user) instead of two.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.models import AuthToken
from knox.signals import token_expired


class TokenAuthentication(KnoxTokenAuthentication):
    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        """Whether the token presented has expired (and is now deleted): as knox's,
        for this token only."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class TokenScheme(KnoxTokenScheme):
    """The API schema's security scheme for this class: knox's (drf-spectacular
    matches an extension to the class it names, not to its subclasses)."""

    target_class = "config.api_auth.TokenAuthentication"
