"""The demo data as `make run` seeds it: every role, every stage; and its texts due at
once, seeded at a moment of its own. What must hold however few patients the demo makes
(a second run changes nothing, the worklist, language access) is
test_seed_demo_small.py's, which seeds that demo once for all its tests."""

from __future__ import annotations

import datetime as dt
import io
from io import StringIO
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command

from navigator.models import CaseStatus, NavigationCase, NavigatorProfile, Role, User
from outreach.messaging.send import message_send
from outreach.messaging.sms_backends import ConsoleBackend
from outreach.messaging.sweep import messages_claim_due
from outreach.models import MessageState, PatientMessage
from patients.models import CareGap, CareGapStatus, Patient, PatientRaceEthnicity

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_runs_in_debug(settings):
    # As under `make run`: seed_demo refuses to run with DEBUG off (test_seed_demo_refusal.py).
    settings.DEBUG = True


# The demo's structure without its size (test_seed_demo_small.py says why): the mail
# test seeds it at its own moment.
SMALL_DEMO = ("--patients", "30", "--ehr-patients", "10", "--population-patients", "100")


def seed(capture, *args) -> str:
    """Run seed_demo as `make run` does: texts due at once (a recall whose slot has come,
    by the time of day) go to the console backend, as DEBUG's settings would send them."""
    out = StringIO()
    # The patch outlives the capture, whose callbacks run as it closes.
    with (
        mock.patch("outreach.messaging.send.get_sms_backend", return_value=ConsoleBackend(out)),
        capture(execute=True),
    ):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_seeds_every_role_a_realistic_mix_and_every_stage(django_capture_on_commit_callbacks):
    # When the demo is seeded with its defaults
    printed = seed(django_capture_on_commit_callbacks)

    # Then there is a user of every role, and their logins are printed
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == set(Role)
    for username in ["maria", "jean", "manager", "clinic-chelsea", "admin", "compliance"]:
        assert username in printed
    assert User.objects.get(username="maria").check_password("equinav-demo")

    # Navigators speak the community's languages
    spoken = {code for n in NavigatorProfile.objects.all() for code in n.languages}
    assert {"en", "es", "pt", "ht", "vi"} <= spoken

    # A few hundred patients, with a realistic mix of race, ethnicity and language
    assert Patient.objects.count() >= 300
    categories = set(PatientRaceEthnicity.objects.values_list("category", flat=True))
    assert {"hispanic", "black", "white", "asian"} <= categories
    languages = set(Patient.objects.values_list("preferred_language", flat=True))
    assert {"en", "es", "pt", "ht", "vi"} <= languages

    # And cases at every stage
    statuses = set(NavigationCase.objects.values_list("status", flat=True))
    assert statuses == set(CaseStatus.values)

    # And an EHR feed imported as FHIR, whose patients have every care-gap status
    ehr_gaps = CareGap.objects.filter(patient__source_links__source__key="demo-ehr")
    assert set(ehr_gaps.values_list("status", flat=True)) == set(CareGapStatus.values)
    assert CareGap.objects.filter(patient__source_links__isnull=True).exists()


def test_the_demo_mails_a_kit_and_a_recall_that_the_console_prints_when_due(
    django_capture_on_commit_callbacks,
):
    # Given the demo, seeded in the small hours in Boston
    with time_machine.travel(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC), tick=False):
        seed(django_capture_on_commit_callbacks, *SMALL_DEMO)
    kit_reminders = PatientMessage.objects.filter(kind="kit_return")
    recall = PatientMessage.objects.get(kind="recall")
    assert kit_reminders.count() == 2 and recall.language == "es"
    # The recall waits for 10:00 in Boston, not 3:00
    assert recall.due_at == dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)

    # When the sweep runs at 10:01 and a worker sends what it claimed
    screen = io.StringIO()
    with (
        time_machine.travel(dt.datetime(2026, 11, 24, 15, 1, tzinfo=dt.UTC), tick=False),
        mock.patch("outreach.messaging.send.get_sms_backend", return_value=ConsoleBackend(screen)),
    ):
        for message_id in messages_claim_due(now=dt.datetime.now(tz=dt.UTC)):
            message_send(message_id=message_id)

    # Then the console shows the recall, in Spanish, to her mobile
    recall.refresh_from_db()
    assert recall.state == MessageState.SENT
    assert f"--- SMS to {recall.recipient}" in screen.getvalue()
    assert recall.body in screen.getvalue()
