"""How log lines look, and what they may carry: ids, never patient data.

- `JsonFormatter`: one JSON object a line (timestamp, level, logger, message,
  request_id, and a status code where Django gives one). Only those fields: the
  `extra` that Django attaches to its records (the whole HttpRequest, whose repr
  carries the query string; the socket of runserver) is never written.
- `TextFormatter`: the same, readable, for `make run` (EQUINAV_LOG_FORMAT=text).
- Both write an exception's type and traceback but withhold its message: a
  database error quotes the row's values ("Key (mrn)=(...) already exists"), a
  ValueError the text it could not read.
- `RequestIdFilter` puts the current request's id on every record (config.request_id).
- `StripQueryFilter` (on `django.server`) cuts the query string out of runserver's
  access lines (`"GET /path?q=... HTTP/1.1" 200 512`).
- `TaskErrorFilter` (on `celery.app.trace`) keeps a failed or retried task's exception
  type and withholds its message.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from config.request_id import current_request_id

WITHHELD = "(message withheld: it may carry patient data)"
# The fields a JSON line may have; anything else a record carries is dropped.
JSON_FIELDS = frozenset(
    {"timestamp", "level", "logger", "message", "request_id", "status_code", "exc_info"}
)
_QUERY = re.compile(r"\?[^\s\"']+")


def format_exception_safely(exc_info: Any) -> str:
    """The traceback of an exception and its causes, each message withheld."""
    _, exc, _ = exc_info
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    note = ""
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append((exc, note))
        if exc.__cause__ is not None:
            exc, note = exc.__cause__, "The above exception was the direct cause of:"
        elif exc.__context__ is not None and not exc.__suppress_context__:
            exc, note = exc.__context__, "During handling of the above exception:"
        else:
            exc = None
    parts = []
    for error, _note in reversed(chain):
        kind = type(error)
        parts.append(
            "Traceback (most recent call last):\n"
            + "".join(traceback.format_tb(error.__traceback__))
            + f"{kind.__module__}.{kind.__qualname__}: {WITHHELD}"
        )
    notes = [note for _, note in reversed(chain)][:-1]
    text = parts[0]
    for note, part in zip(notes, parts[1:], strict=True):
        text += f"\n\n{note}\n\n{part}"
    return text


class RequestIdFilter(logging.Filter):
    """`record.request_id`: the current request's, else the one Django's own request
    records carry (`extra={"request": ...}`), else "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id()
        if not request_id:
            request_id = getattr(getattr(record, "request", None), "request_id", "") or "-"
        record.request_id = request_id
        return True


def strip_query(text: str) -> str:
    return _QUERY.sub("", text)


class StripQueryFilter(logging.Filter):
    """runserver's access line without the query string of its request line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                strip_query(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.msg, str) and not record.args:
            record.msg = strip_query(record.msg)
        return True


class TaskErrorFilter(logging.Filter):
    """Celery's task failure and retry lines (`celery.app.trace`: "Task x[id] raised
    unexpected: ValueError('...')") with the exception's type only: its message may
    quote a row, as a traceback's would."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, dict) and isinstance(args.get("exc"), str):
            kind = re.match(r"[\w.]+", args["exc"])
            record.args = {**args, "exc": f"{kind.group(0) if kind else 'error'} {WITHHELD}"}
        return True


class TextFormatter(logging.Formatter):
    def __init__(self, fmt: str | None = None, datefmt: str | None = None, **kwargs: Any) -> None:
        super().__init__(
            fmt or "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            datefmt,
            **kwargs,
        )

    def format(self, record: logging.LogRecord) -> str:
        record.__dict__.setdefault("request_id", "-")
        return super().format(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return format_exception_safely(ei)


class JsonFormatter(_BaseJsonFormatter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s %(request_id)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        super().__init__(*args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        record.__dict__.setdefault("request_id", "-")
        return super().format(record)

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for key in list(log_data):
            if key not in JSON_FIELDS:
                del log_data[key]

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return format_exception_safely(ei)


def logging_settings(*, fmt: str, level: str) -> dict:
    """settings.LOGGING: every record through one console handler, in `fmt` (json or
    text) with the request id; Django's own loggers pass theirs up to it."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "config.log_format.RequestIdFilter"},
            "strip_query": {"()": "config.log_format.StripQueryFilter"},
            "task_error": {"()": "config.log_format.TaskErrorFilter"},
        },
        "formatters": {
            "json": {"()": "config.log_format.JsonFormatter"},
            "text": {"()": "config.log_format.TextFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's defaults give these their own handlers (one e-mails admins the whole
            # request); here they only pass their records up to the root's.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            "django.request": {"handlers": [], "level": "WARNING", "propagate": True},
            "django.server": {
                "handlers": [],
                "level": "INFO",
                "propagate": True,
                "filters": ["strip_query"],
            },
            # A failed task's line names its exception's type, not its message.
            "celery.app.trace": {"filters": ["task_error"]},
            # Sign-ins, failures and lockouts are logged once, by equinav.security
            # (navigator.security_events); axes' own lines would repeat them.
            "axes": {"level": "WARNING"},
            # kombu warns on every connect to a broker URL without a host name (the
            # embedded default's SQLite file); its errors still show.
            "kombu.connection": {"level": "ERROR"},
        },
    }
