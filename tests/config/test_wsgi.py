"""The WSGI module gunicorn preloads in its master before forking the workers
(config/wsgi.py, config/gunicorn_conf.py `preload_app`)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

from config import gunicorn_conf
from config.settings import BASE_DIR

# Run in a fresh interpreter: in the test process the URLconf and the database
# connections are long since loaded, and would prove nothing.
_PROBE = """
import json, sys
import config.wsgi
from django.db import connections
print(json.dumps({
    "urlconf_loaded": "navigator.api.urls" in sys.modules and "config.urls" in sys.modules,
    "open_connections": [c.alias for c in connections.all(initialized_only=True)
                         if c.connection is not None],
}))
"""


def test_gunicorn_loads_the_app_once_in_its_master():
    assert gunicorn_conf.preload_app is True


def test_gunicorn_freezes_the_masters_objects_before_each_fork():
    # Given the master's objects, tracked by the garbage collector
    gc.unfreeze()
    try:
        # When gunicorn is about to fork a worker
        gunicorn_conf.pre_fork(server=None, worker=None)

        # Then they are in the permanent generation, which no collection walks
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_importing_the_wsgi_app_loads_every_url_and_opens_no_database_connection():
    # Given production settings, as gunicorn's master has them
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "test-only-not-a-secret",
        "ALLOWED_HOSTS": "localhost",
    }
    # When the master imports the WSGI module
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", _PROBE],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    found = json.loads(out.strip().splitlines()[-1])
    # Then the views are loaded before any worker is forked, and no connection is
    # open for the workers to inherit and share
    assert found == {"urlconf_loaded": True, "open_connections": []}
