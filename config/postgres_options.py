"""Startup options for every PostgreSQL connection (the primary's and the replica's).

`jit=off`: PostgreSQL's JIT compiles a statement's expressions with LLVM when its
*estimated* cost passes `jit_above_cost` (100,000). An OLTP statement whose estimate
is inflated (a table grown since it was last analysed, a set-returning function
estimated at its default) then pays the compile on every run: the care-gap upsert
of a batch of 1,000 patients spent 260-300 ms compiling to run for about 40 ms
(auto_explain's JIT timing, `make bench` at full scale). Nothing this app runs is
the long analytical scan JIT pays off for, and PostgreSQL 19 turns JIT off by
default for the same reason.

Sent as libpq's `options` at connection start (no extra query), in front of any the
URL carries, so that a URL's own `-c jit=on` still wins. PgBouncer refuses a
connection with startup options ("unsupported startup parameter"): behind it
(DATABASE_DISABLE_SERVER_SIDE_CURSORS=1, the pooler's setting in docs/deploy.md) none
are sent unless DATABASE_STARTUP_OPTIONS asks, and the role carries the setting
instead (`ALTER ROLE equinav SET jit = off` on the primary; a replica follows).
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_STARTUP_OPTIONS = "-c jit=off"


def startup_options() -> str:
    """DATABASE_STARTUP_OPTIONS; unset, JIT off, or nothing behind a pooler."""
    behind_pooler = os.environ.get("DATABASE_DISABLE_SERVER_SIDE_CURSORS", "") == "1"
    default = "" if behind_pooler else DEFAULT_STARTUP_OPTIONS
    return os.environ.get("DATABASE_STARTUP_OPTIONS", default).strip()


def with_startup_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """`options` (a DATABASES entry's OPTIONS) with `startup_options()` in front of
    libpq's `options` the URL carries (a later `-c` of the same setting wins)."""
    merged = dict(options or {})
    ours = startup_options()
    if ours:
        merged["options"] = " ".join(part for part in (ours, merged.get("options", "")) if part)
    return merged
