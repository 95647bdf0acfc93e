"""Access logs name the path, never the query string (issue 14, item 5): gunicorn's
format (config/gunicorn_conf.py, used by the Procfile and the Dockerfile) and
runserver's lines (django.server, cut by config.log_format.StripQueryFilter)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.servers.basehttp import WSGIRequestHandler

from config import gunicorn_conf
from tests.support.paths import BASE_DIR

SECRET_QUERY = "q=Zzaccesslogname&mrn=ACCESS-MRN-4471&dob=1951-03-07"


def test_gunicorns_access_format_has_no_query_string_request_line_or_referrer():
    # %(q)s is the query string, %(r)s the request line with it, %(f)s the referring URL
    for atom in ("%(q)s", "%(r)s", "%(f)s", "%({raw_uri}e)s", "%({query_string}e)s"):
        assert atom not in gunicorn_conf.access_log_format
    for atom in ("%(m)s", "%(U)s", "%(s)s", "%(M)s", "%({x-request-id}o)s"):
        assert atom in gunicorn_conf.access_log_format


@pytest.mark.parametrize("path", ["Procfile", "Dockerfile", "docker-compose.yml", "Makefile"])
def test_every_gunicorn_command_uses_that_configuration(path):
    text = (BASE_DIR / path).read_text()
    commands = [line for line in text.splitlines() if re.search(r"\bgunicorn\b.*wsgi", line)]
    for line in commands:
        assert "config/gunicorn_conf.py" in line, line
        assert "access-logformat" not in line, line


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_request_with_a_query_string_leaves_only_its_path_in_gunicorns_log(tmp_path: Path):
    # Given gunicorn started as the Procfile starts it (production settings)
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "SECURE_"))
    }
    env.update(
        DEBUG="0",
        SECRET_KEY="access-log-test-key-only-" + "x" * 30,
        ALLOWED_HOSTS="127.0.0.1",
        EQUINAV_RUN_DIR=str(tmp_path / "run"),
        PORT=str(port),
        WEB_CONCURRENCY="1",
        SECURE_SSL_REDIRECT="0",
    )
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn_conf.py",
             "--bind", f"127.0.0.1:{port}", "config.wsgi:application"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
                time.sleep(0.1)
        # When a search-like request is made, with a request id (unsigned: a 401, no database)
        request = urllib.request.Request(  # noqa: S310 - our own local server
            f"http://127.0.0.1:{port}/api/worklist/?{SECRET_QUERY}",
            headers={"X-Request-ID": "access-log-test-1"},
        )
        try:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
        except urllib.error.HTTPError as error:
            status = error.code
        else:
            status = 200
        # (the access line is written after the answer: wait for it)
        deadline = time.monotonic() + 10
        while "access-log-test-1" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=15)

    # Then its access line names the method, path, status and request id, and nothing of the query
    output = log_path.read_text()
    assert re.search(
        rf'"GET /api/worklist/" {status} \d+ \d+ms request_id=access-log-test-1', output
    ), output
    for secret in ("Zzaccesslogname", "ACCESS-MRN-4471", "1951-03-07", "q="):
        assert secret not in output
    # and Django's own "Unauthorized" line is JSON with the same id and the path only
    (refused,) = [
        json.loads(line) for line in output.splitlines() if '"logger": "django.request"' in line
    ]
    assert refused["message"] == "Unauthorized: /api/worklist/"
    assert refused["request_id"] == "access-log-test-1"
    assert refused["status_code"] == status == 401


def _runserver_access_line(requestline: str, caplog) -> logging.LogRecord:
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.requestline = requestline
    handler.request = io.BytesIO()
    handler.client_address = ("127.0.0.1", 50000)
    handler.request_version = "HTTP/1.1"
    handler.command = "GET"
    handler.log_request(200, 512)
    (record,) = [r for r in caplog.records if r.name == "django.server"]
    return record


def test_runservers_access_line_keeps_the_path_and_drops_the_query_string(caplog):
    caplog.set_level(logging.INFO)

    record = _runserver_access_line(f"GET /navigator/worklist/?{SECRET_QUERY} HTTP/1.1", caplog)

    assert record.getMessage() == '"GET /navigator/worklist/ HTTP/1.1" 200 512'


def test_runservers_access_line_without_a_query_string_is_unchanged(caplog):
    caplog.set_level(logging.INFO)

    record = _runserver_access_line("GET /static/css/equinav.css HTTP/1.1", caplog)

    assert record.getMessage() == '"GET /static/css/equinav.css HTTP/1.1" 200 512'
