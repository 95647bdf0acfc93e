"""Security events of sign-in: the one place they are recorded (issue 14, item 7).

Every sign-in, failed sign-in, lockout, sign-out, API token issued or revoked,
password change and two-factor failure or enrolment comes through
`security_event`. It writes one line to the "equinav.security" logger (user id and
username, which are not PHI; never a password, a token or a code) and one row to the
audit trail (navigator.audit.recording.audit_security_event).

The libraries' own hook points feed it: Django's user_logged_in, user_logged_out
and user_login_failed signals and django-axes' user_locked_out
(`connect_receivers`, called from navigator.apps); the token, password and
two-factor services call it directly.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest

from config.client_address import client_address
from navigator.audit.models import AccessAction
from navigator.audit.recording import audit_security_event

logger = logging.getLogger("equinav.security")

# The audit trail's actions.
SIGN_IN = AccessAction.SIGN_IN
SIGN_IN_FAILED = AccessAction.SIGN_IN_FAILED
SIGN_OUT = AccessAction.SIGN_OUT
LOCKOUT = AccessAction.LOCKOUT
TOKEN_ISSUED = AccessAction.TOKEN_ISSUED
TOKEN_REVOKED = AccessAction.TOKEN_REVOKED
PASSWORD_CHANGED = AccessAction.PASSWORD_CHANGED
TWO_FACTOR_FAILED = AccessAction.TWO_FACTOR_FAILED
TWO_FACTOR_ENROLLED = AccessAction.TWO_FACTOR_ENROLLED

# The longest username written to a log line: a typed username is the caller's input.
USERNAME_MAX = 150


def security_event(
    *,
    action: str,
    request: HttpRequest | None = None,
    user=None,
    username: str = "",
    detail: dict[str, str] | None = None,
) -> None:
    """Record one security event: a log line and an audit row."""
    username = (username or (user.get_username() if user is not None else ""))[:USERNAME_MAX]
    details = " ".join(f"{key}={value}" for key, value in sorted((detail or {}).items()))
    logger.info(
        "%s user_id=%s username=%r address=%s %s",
        action,
        getattr(user, "pk", None) or "-",
        username,
        (client_address(request) if request is not None else None) or "-",
        details,
    )
    audit_security_event(
        action=action, request=request, user=user, username=username, detail=detail
    )


# --- The libraries' signals ------------------------------------------------------------------


def on_user_logged_in(sender, request, user, **kwargs: Any) -> None:
    security_event(action=SIGN_IN, request=request, user=user)


def on_user_logged_out(sender, request, user, **kwargs: Any) -> None:
    reason = getattr(request, "equinav_sign_out_reason", "") if request is not None else ""
    security_event(
        action=SIGN_OUT, request=request, user=user, detail={"reason": reason} if reason else None
    )


def on_user_login_failed(sender, credentials, request=None, **kwargs: Any) -> None:
    # `credentials` has the password replaced by stars (Django cleanses it); only the
    # username is kept.
    locked = bool(getattr(request, "axes_locked_out", False))
    security_event(
        action=SIGN_IN_FAILED,
        request=request,
        username=str(credentials.get("username", "")),
        detail={"locked": "yes"} if locked else None,
    )


def on_user_locked_out(sender, request, username=None, ip_address=None, **kwargs: Any) -> None:
    security_event(action=LOCKOUT, request=request, username=str(username or ""))


def connect_receivers() -> None:
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

    uid = "navigator.security_events."
    user_logged_in.connect(on_user_logged_in, dispatch_uid=uid + "logged_in")
    user_logged_out.connect(on_user_logged_out, dispatch_uid=uid + "logged_out")
    user_login_failed.connect(on_user_login_failed, dispatch_uid=uid + "login_failed")
    user_locked_out.connect(on_user_locked_out, dispatch_uid=uid + "locked_out")
