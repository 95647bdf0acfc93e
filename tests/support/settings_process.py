"""Run a script in a fresh interpreter, to see what the settings make of an environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import BASE_DIR

# Variables a developer's shell or CI may set that would change what a fresh
# interpreter's settings are; settings tests start from a clean slate instead.
SETTINGS_ENV = ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")
SETTINGS_ENV_PREFIXES = ("DJANGO_", "CELERY_", "DATABASE_", "REDIS_", "SECURE_")


def run_with_settings(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Run `script` in a fresh interpreter whose environment differs only by `env`."""
    child_env = {
        key: value
        for key, value in os.environ.items()
        if key not in SETTINGS_ENV and not key.startswith(SETTINGS_ENV_PREFIXES)
    }
    child_env["EQUINAV_RUN_DIR"] = str(tmp_path / "run")
    child_env.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
