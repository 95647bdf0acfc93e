"""Many processes writing at once to one SQLite file with the embedded default's settings.

Run by tests/config/test_embedded_database.py as `python -m tests.support.embedded_hammer`,
each process with `config.settings` and DATABASE_URL naming a temporary file, as
`make run`'s web server, worker and beat are:

- `seed CASES`: a navigator and CASES open cases; prints their ids as JSON.
- `hammer NAME CASE_IDS WRITES PAGES GO_FILE`: waits for GO_FILE (so that every process
  starts together), then logs WRITES contact attempts through the service
  (`attempt_log`: an atomic block that reads the case, then writes the attempt, an event
  and the case: the read-then-write that failed with "database is locked") on the cases
  in turn, and between them opens the case page PAGES times as the navigator (the
  session read, the audit trail's row written in autocommit). Prints JSON: what it wrote,
  and every error by type and message (these are test rows; no patient's details).
- `written`: what the database holds afterwards, as JSON: every attempt's note, the
  case page views the audit trail recorded, and SQLite's journal mode.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import django


def seed(cases: int) -> None:
    from tests import factories

    navigator = factories.NavigatorFactory(languages=["en"])
    ids = [factories.CaseFactory(navigator=navigator).pk for _ in range(cases)]
    print(json.dumps({"navigator_user": navigator.user.pk, "cases": ids}))


def hammer(name: str, case_ids: list[int], writes: int, pages: int, go_file: Path) -> None:
    from django.test import Client
    from django.urls import reverse

    from navigator.models import NavigationCase
    from outreach.services.attempts import attempt_log

    navigator_user = NavigationCase.objects.get(pk=case_ids[0]).navigator.user
    client = Client(HTTP_HOST="localhost")
    client.force_login(navigator_user)
    written: list[int] = []
    pages_seen = 0
    errors: list[str] = []
    page_every = max(1, writes // pages) if pages else 0
    while not go_file.exists():
        time.sleep(0.01)
    for number in range(writes):
        case_id = case_ids[number % len(case_ids)]
        try:
            attempt = attempt_log(
                case=case_id,
                channel="phone",
                outcome="no_answer",
                actor=navigator_user,
                note=f"{name}-{number}",
            )
            written.append(attempt.pk)
        except Exception as error:  # noqa: BLE001 - the test reports every one
            errors.append(f"attempt {number}: {type(error).__name__}: {error}")
        if page_every and number % page_every == 0 and pages_seen < pages:
            response = client.get(reverse("navigator:case_detail", args=[case_id]))
            pages_seen += 1
            if response.status_code != 200:
                errors.append(f"page {pages_seen}: status {response.status_code}")
    print(json.dumps({"name": name, "written": written, "pages": pages_seen, "errors": errors}))


def written() -> None:
    from django.db import connection

    from navigator.audit.models import AccessEvent
    from outreach.models import ContactAttempt

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
    print(
        json.dumps(
            {
                "notes": list(ContactAttempt.objects.values_list("note", flat=True)),
                "page_views": AccessEvent.objects.filter(route__endswith="case_detail").count(),
                "journal_mode": journal_mode,
            }
        )
    )


def main(argv: list[str]) -> None:
    django.setup()
    command = argv[0]
    if command == "seed":
        seed(int(argv[1]))
    elif command == "hammer":
        name, case_ids, writes, pages, go_file = argv[1:6]
        hammer(name, json.loads(case_ids), int(writes), int(pages), Path(go_file))
    elif command == "written":
        written()
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
