"""The demo's language access: interpreter requests in every status, and contacts with
each answer to "who interpreted?", two of them ad hoc."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from navigator.models import User
from navigator.selectors.worklist import worklist_for, worklist_rows
from navigator.worklist import rules as worklist
from outreach.models import ContactAttempt, InterpretedBy, InterpreterRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_runs_in_debug(settings):
    # As under `make run`: seed_demo refuses to run with DEBUG off (test_seed_demo_refusal.py).
    settings.DEBUG = True


def test_the_demo_shows_interpreter_requests_and_who_interpreted(
    django_capture_on_commit_callbacks, settings
):
    # Texts the demo sends at once print to the console, whatever the hour
    settings.EQUINAV_SMS_BACKEND = "outreach.messaging.sms_backends.ConsoleBackend"
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "seed_demo", "--patients", "30", "--ehr-patients", "10", "--population-patients",
            "100", stdout=StringIO(),
        )  # fmt: skip

    statuses = set(InterpreterRequest.objects.values_list("status", flat=True))
    assert statuses == {"requested", "confirmed", "done", "cancelled"}
    answers = list(ContactAttempt.objects.values_list("interpreted_by", flat=True))
    assert set(answers) == set(InterpretedBy.values)
    assert answers.count(InterpretedBy.AD_HOC) == 2
    # María's worklist shows one interpreter arranged (the confirmed request ahead)
    maria = User.objects.get(username="maria")
    moment = worklist.Moment.current()
    rows = worklist_rows(worklist_for(user=maria, moment=moment), user=maria, moment=moment)
    assert sum(row.interpreter_arranged for row in rows) == 1
