"""System checks for outreach's settings, run by `manage.py check` and at every start.

A patient text is sent by a worker long after the process started, so a setting
that cannot work must be said when the process starts, not found out by the first
text that fails to go.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from outreach.messaging.sms_backends import BaseSmsBackend, ConsoleBackend, get_sms_backend

# The SMS backends' module before the code was split into packages (issue 11).
FORMER_BACKENDS_MODULE = "outreach.sms."
BACKENDS_MODULE = "outreach.messaging.sms_backends."


@register("outreach")
def sms_backend_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """EQUINAV_SMS_BACKEND must name an SMS backend class; a provider without its
    credentials is a warning (a deployment may start before they are set)."""
    dotted = settings.EQUINAV_SMS_BACKEND
    hint = None
    if dotted.startswith(FORMER_BACKENDS_MODULE):
        hint = (
            "The SMS backends moved: set EQUINAV_SMS_BACKEND="
            + BACKENDS_MODULE
            + dotted.removeprefix(FORMER_BACKENDS_MODULE)
        )
    try:
        backend_class = import_string(dotted)
    except ImportError as error:
        return [
            Error(
                f"EQUINAV_SMS_BACKEND “{dotted}” cannot be imported: {error}",
                hint=hint,
                id="outreach.E001",
            )
        ]
    if not (isinstance(backend_class, type) and issubclass(backend_class, BaseSmsBackend)):
        return [Error(f"EQUINAV_SMS_BACKEND “{dotted}” is not an SMS backend.", id="outreach.E002")]
    if issubclass(backend_class, ConsoleBackend) and not settings.DEBUG:
        return [
            Warning(
                "EQUINAV_SMS_BACKEND is the console backend with DEBUG off: every patient "
                "text, with its number, would be written to the process's output (its logs).",
                hint="Name a provider, e.g. outreach.messaging.sms_backends.TwilioBackend.",
                id="outreach.W002",
            )
        ]
    try:
        get_sms_backend(dotted)
    except ImproperlyConfigured as error:
        return [Warning(f"No patient text can be sent: {error}", id="outreach.W001")]
    return []
