"""Processes on the embedded default, as `make run` starts them, in a temporary folder.

Each gets `config.settings` with DEBUG on, no REDIS_URL (so the SQLite broker in
its own run directory) and DATABASE_URL naming a SQLite file in the folder: the same
settings code path as the default `db.sqlite3` (config/embedded.py applies to any SQLite
database). Nothing of the test process's environment that would change the settings
reaches them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import BASE_DIR

# Variables of the test's own environment that would change what the settings are.
ENV_PREFIXES = ("CELERY_", "DJANGO_", "DATABASE_", "REDIS_", "EQUINAV_", "EMAIL_", "SECRET_")
ENV_NAMES = ("DEBUG", "ALLOWED_HOSTS")


def embedded_env(folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a process on the embedded default whose files are in `folder`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ENV_NAMES and not key.startswith(ENV_PREFIXES)
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        EQUINAV_RUN_DIR=str(folder / "run"),
        EQUINAV_LOG_FORMAT="text",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def migrate(folder: Path) -> None:
    """`manage.py migrate` on the folder's database, as `make run` does first."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--no-input", "--skip-checks", "-v", "0"],
        cwd=BASE_DIR,
        env=embedded_env(folder),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def start_python(folder: Path, *args: str, log: Path, **env: str) -> subprocess.Popen:
    """`python ARGS` on the embedded default, output to `log`, in its own process group."""
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603
            [sys.executable, *args],
            cwd=BASE_DIR,
            env=embedded_env(folder, **env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
