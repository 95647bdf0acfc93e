"""What every part of `make bench` shares: its scale, its figures, its database.

A part is a module of this package with

    def run(*, scale: Scale) -> PartResult

called after `prepare()` (a fresh PostgreSQL database, migrated, Django set up,
DEBUG off). A part builds the data it needs, measures the app's own code and,
in the same run, the floor it is compared with (PostgreSQL COPY of the same
rows, pgbench of the same SQL, ...), and returns its figures. The runner
(`run.py`) prints each figure beside its floor and target, writes the JSON and,
at `--scale small` in CI, fails when a part's query counts grow past the
committed baseline.

A part may also define `configure() -> None`, called before Django loads (to
point a setting's environment variable at a bench service, as the sweep's Redis).

A part can also run alone: `python -m tests.benchmarks.<part> [--scale small]`
(see `standalone`). `run.py` runs each part in a process of its own, on a
database copied from a template migrated once per run (`prepare(template=...)`):
a fresh database costs a fraction of a second instead of a migrate.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/equinav_bench"
SCALES = ("small", "full")

T = TypeVar("T")


@dataclass(frozen=True)
class Scale:
    """`small` runs in CI in a few minutes; `full` is the issue's sizes."""

    name: str = "full"

    def pick(self, *, small: T, full: T) -> T:
        return small if self.name == "small" else full


@dataclass(frozen=True)
class Figure:
    """One measured figure, beside the floor measured in the same run."""

    name: str  # "referral import, end to end"
    value: float
    unit: str  # "rows/s", "ms", "requests/s"
    higher_is_better: bool = True
    floor_name: str | None = None  # "PostgreSQL COPY of the same rows"
    floor_value: float | None = None
    target: str | None = None  # "≥ 10,000 rows/s", as the issue states it
    met: bool | None = None  # whether the target holds; None when there is none

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "floor_name": self.floor_name,
            "floor_value": self.floor_value,
            "target": self.target,
            "met": self.met,
        }


@dataclass
class PartResult:
    part: str
    figures: list[Figure] = field(default_factory=list)
    # Queries per unit of work ("per batch of 1,000 rows", "per worklist page"):
    # deterministic, so CI compares them with the committed baseline.
    queries: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "part": self.part,
            "figures": [figure.as_dict() for figure in self.figures],
            "queries": self.queries,
            "sizes": self.sizes,
            "details": self.details,
            "notes": self.notes,
        }


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def database_name(url: str) -> str:
    from dj_database_url import parse

    return str(parse(url)["NAME"])


def recreate_database(url: str, *, template: str | None = None) -> None:
    """Drop and create the database of `url`, empty or copied from `template`."""
    import psycopg
    from dj_database_url import parse

    config = parse(url)
    name = config["NAME"]
    admin = psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"] or "postgres",
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        copy = f' TEMPLATE "{template}"' if template else ""
        admin.execute(f'CREATE DATABASE "{name}"{copy}')


def drop_database(url: str) -> None:
    import psycopg
    from dj_database_url import parse

    config = parse(url)
    with psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"] or "postgres",
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')


def configure_environment() -> None:
    """Production settings against the bench database; call before Django loads."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Production settings: no query logging to slow the numbers.
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    # Imports enqueue work; keep those messages out of the app's own queue.
    os.environ.setdefault("EQUINAV_RUN_DIR", str(ROOT / ".run" / "bench"))


def prepare(*, template: str | None = None) -> None:
    """A fresh, migrated bench database with Django set up.

    With `template`, the database is a copy of that one (already migrated, its
    static files collected by the same run), not migrated again."""
    configure_environment()
    recreate_database(database_url(), template=template)
    import django

    django.setup()
    if template:
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Pages are served as in production (DEBUG off), where whitenoise serves the
    # collected static files.
    call_command("collectstatic", verbosity=0, interactive=False)


class QueryCounter:
    """Counts the queries run inside `connection.execute_wrapper(counter)`: DEBUG is
    off, so Django logs none."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def skip_audit_triggers(cursor) -> None:
    """For the rest of the current transaction, the app's pgtrigger triggers (a row
    in audit_rowchange per row written, the never-deleted guards) let rows pass.

    For loading a part's synthetic data: their audit trail is not what a part
    measures, and it makes a load of a million rows several times slower. (pgtrigger's
    own `ignore()` prefixes each statement, which psycopg refuses with named
    parameters.)"""
    cursor.execute(
        "SELECT set_config('pgtrigger.ignore', "
        "COALESCE('{' || string_agg(DISTINCT tgname, ',') || '}', '{}'), true) "
        "FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'pgtrigger%'"
    )


def configure_part(module_name: str) -> None:
    """Call the part's optional `configure()` hook, before Django loads."""
    configure = getattr(sys.modules[module_name], "configure", None)
    if callable(configure):
        configure()


def standalone(run: Callable[..., PartResult]) -> None:
    """`python -m tests.benchmarks.<part> [--scale small]`: one part on a fresh database."""
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=SCALES, default="full")
    args = parser.parse_args()
    configure_part(run.__module__)
    prepare()
    result = run(scale=Scale(args.scale))
    print(json.dumps(result.as_dict(), indent=2, default=str))
