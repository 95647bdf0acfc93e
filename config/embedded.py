"""The embedded default (no DATABASE_URL, no REDIS_URL): SQLite tuned for several
users at once, and a Celery broker on a SQLite file of its own. Used by settings only.

Why each choice (README "The embedded default"):

- The app's database. WAL lets readers go on while one connection writes, so a page
  never waits on the worker. Every atomic block starts with BEGIN IMMEDIATE: it takes
  the write lock at once and, if another connection holds it, waits up to the timeout.
  A DEFERRED transaction (SQLite's default) that reads and then writes - `case_lock`'s
  SELECT, then its UPDATE - must upgrade its lock, and SQLite refuses an upgrade that
  could deadlock with "database is locked" at once, whatever the timeout: that was the
  barrier lost behind a 500. Writes outside atomic blocks (the session row, the audit
  trail's row for each request) are single statements in autocommit: they wait for the
  lock up to the timeout too. synchronous=NORMAL is safe in WAL mode against the
  process dying; only a power cut can lose the last commits (a demo's trade).
- The broker: kombu's SQLAlchemy transport on `RUN_DIR/celery-broker.sqlite3`. A
  message is one row, inserted in one transaction, so a reader never sees half of it
  (the filesystem transport's JSONDecodeError). Its connections come from
  `broker_connection` below: WAL, and a 30 s busy timeout, so the worker taking a
  message and beat publishing one wait for each other instead of failing. The broker
  keeps SQLite's default synchronous=FULL: it holds few rows, and losing none matters more.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path

# Connection options for a SQLite DATABASES entry (Django 5.1+ reads all three).
SQLITE_PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"
# How long a connection waits for another's write lock before "database is locked".
SQLITE_TIMEOUT_SECONDS = 20.0
BROKER_TIMEOUT_SECONDS = 30.0
BROKER_FILENAME = "celery-broker.sqlite3"


def sqlite_options() -> dict[str, object]:
    """OPTIONS for the SQLite database, from the environment (the defaults are the fix;
    EQUINAV_SQLITE_TRANSACTION_MODE=DEFERRED brings back SQLite's own, to compare)."""
    return {
        "transaction_mode": os.environ.get("EQUINAV_SQLITE_TRANSACTION_MODE", "IMMEDIATE"),
        "timeout": float(os.environ.get("EQUINAV_SQLITE_TIMEOUT") or SQLITE_TIMEOUT_SECONDS),
        "init_command": os.environ.get("EQUINAV_SQLITE_INIT_COMMAND", SQLITE_PRAGMAS),
    }


def _connect_broker(path: str) -> sqlite3.Connection:
    # SQLAlchemy's pool hands a connection to one thread at a time; the worker's
    # consumer and its timer thread may take turns with it.
    connection = sqlite3.connect(path, timeout=BROKER_TIMEOUT_SECONDS, check_same_thread=False)
    # Persistent in the file once set; asking again is a no-op.
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def broker_connection(path: Path) -> Callable[[], sqlite3.Connection]:
    """A `creator` for SQLAlchemy's create_engine (kombu passes the broker's transport
    options to it): each connection to the broker's file in WAL mode, with a busy timeout."""
    return partial(_connect_broker, str(path))
