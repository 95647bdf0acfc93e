"""The API fuzzed from its own OpenAPI schema (issue 14, item 6).

Schemathesis loads `/api/schema/` from the app in-process (WSGI) and, for every operation,
as each role (manager, navigator, clinic staff, admin; each with a token), sends generated
requests, valid ones (path ids pinned to seeded objects, so that they reach real rows) and
invalid ones. Each response must not be a server error, must match the schema (a
documented status code, its content type, body and headers), and an invalid request must
not be accepted. The numbers of operations, roles and cases run are printed, even
without `-s`.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from navigator.models import CoachingGoal
from outreach.models import CaseTask, FollowUpReminder, TaskKind
from patients.models import Referral
from tests import factories
from tests.support.api import token_authorization

pytestmark = pytest.mark.django_db

# Every status code must be documented: the schema lists each operation's refusals
# (config/api_schema.py), so an undocumented one is a defect of the code or the schema.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Examples per operation and mode, for each role: enough to find a 500 or a schema
# break, few enough for the whole run to take about a minute on two cores. Clinic
# staff are refused (403) by most operations before any input is read, and an admin
# takes a manager's way through most: both get fewer.
FULL = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 3}
FEWER = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 2}
EXAMPLES = {"manager": FULL, "navigator": FULL, "clinic staff": FEWER, "admin": FEWER}

# Operations left out, each with the defect that keeps it out.
EXCLUDED: dict[str, str] = {
    # Not a defect: it revokes the fuzzer's own tokens, after which every operation is a
    # 401. Its behaviour is tested in tests/navigator/test_api_tokens.py.
    "POST /api/auth/tokens/revoke-all/": "revokes the caller's tokens",
}


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    # The WSGI handler closes an old connection when a request starts and finishes
    # (with CONN_MAX_AGE 0, always: PostgreSQL's connection ends); inside the test's
    # transaction that would end it, so it stays open, as Django's test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_finished.connect(close_old_connections)
    request_started.connect(close_old_connections)


@pytest.fixture
def seeded(manager) -> dict:
    """One of each object a path names, on a navigator's caseload."""
    navigator = factories.NavigatorFactory()
    case = factories.CaseFactory(navigator=navigator)
    # Clinic staff of the patient's clinic, so that its referral is theirs to see.
    staff = factories.ClinicStaffFactory(clinic=case.patient.clinic)
    referral = Referral.objects.create(
        clinic=case.patient.clinic,
        patient=case.patient,
        program=case.program,
        referring_clinician="Dr. Fuzz",
        case=case,
        created_by=staff,
    )
    task = CaseTask.objects.create(
        case=case,
        kind=TaskKind.NO_SHOW,
        subject_key="fuzz",
        due_on=datetime.date(2026, 12, 4),
        summary="No-show: call to re-book",
    )
    reminder = FollowUpReminder.objects.create(
        case=case, navigator=navigator, due_on=datetime.date(2026, 12, 4)
    )
    barrier = factories.CaseBarrierFactory(case=case)
    appointment = factories.AppointmentFactory(case=case)
    # Coaching: a session ahead, a goal set in one attended, a series the navigator
    # leads with a session begun (attendance can be taken), the patient on its roster.
    coaching_session = factories.CoachingSessionFactory(case=case)
    attended = factories.CoachingSessionFactory(
        case=case,
        scheduled_at=timezone.now() - datetime.timedelta(days=7),
        status="attended",
        minutes_spent=60,
    )
    goal = CoachingGoal.objects.create(
        case=case, patient=case.patient, text="Walk", behaviour="being_active", set_in=attended
    )
    series = factories.GroupSeriesFactory(program=case.program, facilitator=navigator.user)
    group_session = factories.GroupSessionFactory(
        series=series, number=1, starts_at=timezone.now() - datetime.timedelta(hours=1)
    )
    enrolment = factories.GroupEnrolmentFactory(series=series, case=case)
    return {
        "users": {
            "manager": manager,
            "navigator": navigator.user,
            "clinic staff": staff,
            "admin": factories.AdminFactory(),
        },
        "ids": {
            "/api/cases/": case.pk,
            "/api/navigators/": navigator.pk,
            "/api/patients/": case.patient.pk,
            "/api/referrals/": referral.pk,
            "/api/tasks/": task.pk,
            "/api/reminders/": reminder.pk,
            "/api/coaching-sessions/": coaching_session.pk,
            "/api/coaching-goals/": goal.pk,
            "/api/group-series/": series.pk,
            "/api/group-sessions/": group_session.pk,
            "/api/group-enrolments/": enrolment.pk,
        },
        "barrier_id": barrier.pk,
        "appointment_id": appointment.pk,
    }


def pinned_path(path: str, seeded: dict) -> dict:
    """Path parameters naming seeded objects, so that valid requests reach real rows."""
    parameters: dict = {}
    for prefix, pk in seeded["ids"].items():
        if path.startswith(prefix) and "{id}" in path:
            parameters["id"] = pk
    for name in ("barrier_id", "appointment_id"):
        if "{" + name + "}" in path:
            parameters[name] = seeded[name]
    if path.startswith("/api/programs/{code}"):
        parameters["code"] = "colorectal"
    if path.startswith("/api/measures/"):
        parameters["measure"] = "CMS130"
    return parameters


def run_operation(
    operation,
    *,
    role: str,
    mode,
    authorization: str,
    path_parameters,
    failures: dict[str, str],
    counts: Counter,
) -> bool:
    """Fuzz one operation as one role in one mode; False if no request of that mode can
    be made (Hypothesis found no example to run, so nothing was sent)."""
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @settings(
        max_examples=EXAMPLES[role][mode],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case) -> None:
        counts["cases"] += 1
        try:
            case.call_and_validate(headers={"Authorization": authorization}, checks=CHECKS)
        # Every failure is collected (a FailureGroup is a BaseExceptionGroup), then all are
        # reported together.
        except (Exception, BaseExceptionGroup) as failure:
            found = getattr(failure, "exceptions", None) or [failure]
            for each in found:
                title = getattr(each, "title", type(each).__name__)
                key = f"{operation.label} as {role} [{mode.value}] {title}"
                failures.setdefault(key, str(each)[:2500])

    try:
        fuzz()
    except Unsatisfiable:
        # Nothing of this operation can be made invalid (no parameters, no body).
        counts["no invalid request possible"] += 1
        return False
    return True


def test_every_operation_survives_fuzzing_as_each_role(seeded, in_process_requests, capsys):
    # Given a token for each role, and the schema, loaded from the app itself (signed in:
    # outside DEBUG it is not public)
    authorizations = {role: token_authorization(user) for role, user in seeded["users"].items()}
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/",
        get_wsgi_application(),
        headers={"Authorization": authorizations["manager"]},
    )
    failures: dict[str, str] = {}
    counts: Counter = Counter()

    # When every operation is sent valid and invalid requests as each role
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in EXCLUDED:
            continue
        counts["operations"] += 1
        # Whether an operation's request can be made invalid is its schema's, not the
        # role's: the role is only the Authorization header, which is given, never
        # generated, and Hypothesis draws the same examples for every role (derandomized,
        # the same strategy). When it finds none for the first role it would find none
        # for the others, which would send nothing either: they are counted, not drawn
        # again (8 such operations took half the module's time, 1,000 draws each a role).
        impossible = set()
        for role, authorization in authorizations.items():
            for mode in EXAMPLES[role]:
                if mode in impossible:
                    counts["no invalid request possible"] += 1
                    continue
                path_parameters = pinned_path(operation.path, seeded)
                drawn = run_operation(
                    operation,
                    role=role,
                    mode=mode,
                    authorization=authorization,
                    path_parameters=path_parameters if mode.is_positive else None,
                    failures=failures,
                    counts=counts,
                )
                if not drawn:
                    impossible.add(mode)

    # (Printed past pytest's capture, so that CI's log shows what ran.)
    with capsys.disabled():
        print(
            f"\nschemathesis: {counts['operations']} operations × {len(authorizations)} roles, "
            f"{counts['cases']} cases; {len(EXCLUDED)} excluded, {len(failures)} failures; "
            f"{counts['no invalid request possible']} operation-role pairs with no invalid "
            "request possible"
        )
    # Then nothing failed
    assert not failures, "\n\n".join(f"{key}\n{text}" for key, text in failures.items())


def test_an_operation_with_no_invalid_request_has_none_for_any_role(seeded, in_process_requests):
    # Given an operation with nothing to make invalid (no parameters, no body), as each role
    authorizations = {role: token_authorization(user) for role, user in seeded["users"].items()}
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/",
        get_wsgi_application(),
        headers={"Authorization": authorizations["manager"]},
    )
    operation = schema["/api/team/"]["GET"]
    counts: Counter = Counter()

    # When Hypothesis draws invalid requests for it as every role
    drawn = {
        role: run_operation(
            operation,
            role=role,
            mode=GenerationMode.NEGATIVE,
            authorization=authorization,
            path_parameters=None,
            failures={},
            counts=counts,
        )
        for role, authorization in authorizations.items()
    }

    # Then it finds none for any of them, and nothing is sent: what the fuzzing test
    # counts, without drawing again, for the roles after the first
    assert drawn == dict.fromkeys(authorizations, False)
    assert counts == Counter({"no invalid request possible": len(authorizations)})
