"""A request id on every request, every log line it causes and its answer.

`RequestIdMiddleware` (first in MIDDLEWARE) takes the id a proxy in front sent in
X-Request-ID when it is a plausible one (1 to 64 letters, digits, `.`, `_`, `-`:
nothing that could smuggle text into a log line), or makes one (uuid4, hex). The
id is `request.request_id`, the X-Request-ID header of the response, and
`current_request_id()` for whatever logs meanwhile (config.log_format puts it on
every record) or enqueues a Celery task (config.enqueue passes it on).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

_request_id: ContextVar[str] = ContextVar("equinav_request_id", default="")


def current_request_id() -> str:
    """The id of the request (or task) being handled here; "" outside one."""
    return _request_id.get()


def set_request_id(value: str) -> None:
    """Make `value` the current id (a Celery task carries its request's id)."""
    _request_id.set(value if valid_request_id(value) else "")


def valid_request_id(value: object) -> bool:
    return isinstance(value, str) and _VALID.fullmatch(value) is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


def _clear(**kwargs: Any) -> None:
    _request_id.set("")


# The id stays current until the response is closed, not only until the middleware
# returns: Django logs a 4xx ("Not Found: /path") and runserver its access line after
# the middleware chain, and both should carry it. Closing the response clears it.
request_finished.connect(_clear, dispatch_uid="equinav-request-id-clear")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get(_META_KEY, "")
        request_id = incoming if valid_request_id(incoming) else new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        _request_id.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response
