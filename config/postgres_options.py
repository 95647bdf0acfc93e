"""Startup options for every PostgreSQL connection (the primary's and the replica's).

`jit=off`: PostgreSQL's JIT compiles a statement's expressions with LLVM when its
*estimated* cost passes `jit_above_cost` (100,000). An OLTP statement whose estimate
is inflated (a table grown since it was last analysed, a set-returning function
estimated at its default) then pays the compile on every run: the care-gap upsert
of a batch of 1,000 patients spent 260-300 ms compiling to run for about 40 ms
(auto_explain's JIT timing, `make bench` at full scale). Nothing this app runs is
the long analytical scan JIT pays off for, and PostgreSQL 19 turns JIT off by
default for the same reason.

Sent as libpq's `options` at connection start (no extra query). A pooler in
transaction mode (PgBouncer) drops or refuses startup options: there, set
DATABASE_STARTUP_OPTIONS to empty and give the role the setting instead
(`ALTER ROLE equinav SET jit = off`, docs/deploy.md).
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_STARTUP_OPTIONS = "-c jit=off"


def with_startup_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """`options` (a DATABASES entry's OPTIONS) with DATABASE_STARTUP_OPTIONS added to
    libpq's `options`, after any the URL already carries."""
    merged = dict(options or {})
    extra = os.environ.get("DATABASE_STARTUP_OPTIONS", DEFAULT_STARTUP_OPTIONS).strip()
    if extra:
        merged["options"] = " ".join(part for part in (merged.get("options", ""), extra) if part)
    return merged
