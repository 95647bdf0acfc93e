"""The read replica: the dashboards' report queries read from it, nothing else does.

With DATABASE_REPLICA_URL set, settings add a `replica` database (PostgreSQL streaming
replication of the primary) and turn EQUINAV_READ_REPLICA on. A report view marks its
work with `reads_from_replica` (or a block with `replica_reads()`): inside, the ORM's
reads go to the replica, so the equity dashboard's grouped counts over a million
patients, the eCQM MeasureReport and the navigation outcomes never compete with the
worklist and the imports for the primary. Everything else reads the primary.

What never goes to the replica, whatever the view:
- a write (every write is routed to `default`; a hot standby would refuse it anyway);
- the audit trail (its rows are written after the view, by the middleware, on `default`)
  and security state read during the view (sessions, sign-in lockouts, API tokens,
  TOTP devices): these must be current, not seconds behind;
- migrations.

With the setting off (no replica configured) the router answers nothing and Django
uses `default` for everything; with the replica down (no connection within
REPLICA_CONNECT_TIMEOUT seconds) a report reads the primary and a warning is logged.
A replica lags the primary by what its replication says (usually well under a second;
docs/deploy.md says what a manager then sees); one more than
EQUINAV_REPLICA_MAX_LAG_SECONDS behind (a stalled replay, a broken stream) is treated
like one that is down, so a dashboard never shows figures minutes old without saying so.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import dj_database_url
from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import Model

from config.postgres_options import with_startup_options

REPLICA = "replica"
# App labels whose rows are read from the primary even inside a report view.
PRIMARY_ONLY_APPS = frozenset({"audit", "sessions", "axes", "knox", "otp_totp", "django_otp"})

_replica_reads: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "equinav_replica_reads", default=False
)

View = TypeVar("View", bound=Callable[..., Any])

logger = logging.getLogger(__name__)

# Seconds to wait for the replica before a report reads the primary instead.
REPLICA_CONNECT_TIMEOUT = 3

# How far behind the primary the replica is, in seconds: 0 when it has replayed all it
# received (an idle primary sends nothing, so the last replayed transaction's age alone
# would read as lag), 0 on a server that is not a standby (the tests' mirror).
REPLICA_LAG_SQL = """
    SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN 0
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
        ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
    END
"""


def replica_database(url: str, *, primary: dict[str, Any]) -> dict[str, Any]:
    """The replica's DATABASES entry: same connection reuse as the primary; in tests a
    mirror of `default` (Django points it at the test database, creating nothing)."""
    database: dict[str, Any] = dict(
        dj_database_url.parse(
            url,
            conn_max_age=primary.get("CONN_MAX_AGE", 0),
            conn_health_checks=True,
        )
    )
    database["TEST"] = {"MIRROR": "default"}
    # Behind the same pooler as the primary, or not.
    database["DISABLE_SERVER_SIDE_CURSORS"] = primary.get("DISABLE_SERVER_SIDE_CURSORS", False)
    if "postgresql" in database["ENGINE"]:
        options = with_startup_options(database.get("OPTIONS"))
        options.setdefault("connect_timeout", REPLICA_CONNECT_TIMEOUT)
        database["OPTIONS"] = options
    return database


def replica_enabled() -> bool:
    return bool(getattr(settings, "EQUINAV_READ_REPLICA", False)) and (
        REPLICA in settings.DATABASES
    )


@contextmanager
def replica_reads() -> Iterator[None]:
    """Inside the block, ORM reads go to the replica (when one is configured)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def replica_lag_seconds() -> float:
    """How far the replica's replay is behind what it received (0 if it is no standby)."""
    connection = connections[REPLICA]
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute(REPLICA_LAG_SQL)
        (lag,) = cursor.fetchone()
    return float(lag)


def replica_reachable() -> bool:
    """Whether the replica takes a connection and is current enough to read. A replica
    that is down, being rebuilt or far behind must not take the dashboards with it:
    they read the primary meanwhile."""
    try:
        connections[REPLICA].ensure_connection()
        lag = replica_lag_seconds()
    except DatabaseError as error:
        # The error's type only: its text names the host and the user.
        logger.warning(
            "read replica unreachable (%s): reports read the primary", type(error).__name__
        )
        return False
    max_lag = settings.EQUINAV_REPLICA_MAX_LAG_SECONDS
    if lag > max_lag:
        logger.warning(
            "read replica %.0f s behind (over %.0f s): reports read the primary", lag, max_lag
        )
        return False
    return True


def reads_from_replica(view: View) -> View:
    """A report view (function, or a class view's `get`) whose reads may lag the primary
    by a moment. Put it innermost, under the role checks: those read the primary."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if replica_enabled() and not replica_reachable():
            return view(*args, **kwargs)
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


class ReplicaRouter:
    """Reads inside `replica_reads()` → `replica`; every write → `default`."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if not _replica_reads.get() or model._meta.app_label in PRIMARY_ONLY_APPS:
            return None
        return REPLICA if replica_enabled() else None

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        # Even an object read from the replica is saved to the primary.
        return "default"

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # The replica holds the primary's rows: an object read from either may point at
        # one read from the other.
        if {obj1._state.db, obj2._state.db} <= {"default", REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # The replica follows the primary's schema through replication.
        return False if db == REPLICA else None
