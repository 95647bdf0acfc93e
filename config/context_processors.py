"""Values every page's template needs."""

from __future__ import annotations

from django.conf import settings


def session_limits(request) -> dict[str, int]:
    """The idle limit and the warning before it, for the session-timeout dialog."""
    return {
        "session_idle_seconds": settings.EQUINAV_SESSION_IDLE_SECONDS,
        "session_warning_seconds": settings.EQUINAV_SESSION_WARNING_SECONDS,
    }
