"""The world the permission matrix is walked in: who acts, and whose objects they reach.

Two clinics. At North: the navigator who acts (N1), a coach N1 covers today (N4),
another navigator (N2), the coach who acts (C1), a navigator C1 covers today (N5) and
the clinic-staff user who acts. At South: a third navigator (N3) and South's own clinic
staff. A manager and an administrator (staff and superuser, as `seed_demo` makes them)
see everything. (Covering is walked across the two casework roles both ways: a
navigator covers a coach, a coach covers a navigator.)

Each *owner* is one navigator's corner of the world, with one of every case-derived
object (case, patient, referral, barrier, appointment, interpreter request, task,
reminder, message, coverage):

- ``own``: N1's, at North (so also the acting clinic staff's clinic);
- ``covered``: N4's, at North, whose caseload N1 covers today;
- ``other_navigator``: N2's, at North, not covered by N1;
- ``other_clinic``: N3's, at South.

The coach sees the same world from their own corner (VIEWS): ``own`` is C1's corner,
``covered`` N5's, whom C1 covers today; N2's and N3's are the other navigator's and the
other clinic's as for N1. To every other role C1's and N5's corners are two more of
another navigator's, at North.

Routes that name no owned object are walked once per role, with owner ``none``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from navigator.models import CoachingGoal, Coverage, NavigatorProfile, Role, User
from navigator.services.notes import case_note_add
from outreach.models import CaseTask, FollowUpReminder, InterpreterRequest, PatientMessage
from patients.models import FhirBulkImport, FhirSource, Referral, ReferralUpload
from tests import factories

OWNERS = ("own", "covered", "other_navigator", "other_clinic")
# The coach's own and covered corners (to everyone else: another navigator's, at North).
COACH_CORNERS = ("coach_own", "coach_covered")
NONE = "none"
# Whose corner each owner names, for a role that sees the world from a corner of its
# own; every other role sees it from N1's (the owner is the corner).
VIEWS: dict[str, dict[str, str]] = {
    "coach": {"own": "coach_own", "covered": "coach_covered"},
}


def corner_key(role: str, owner: str) -> str:
    """The corner that `owner` names for `role`."""
    return VIEWS.get(role, {}).get(owner, owner)


def owner_seen(role: str, key: str) -> str:
    """What the corner `key` is to `role`: its own, covered, another navigator's, another
    clinic's. A corner outside the role's view is another navigator's at North."""
    named = {corner_key(role, owner): owner for owner in OWNERS}
    return named.get(key, "other_navigator")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full name, its path pattern and the view behind it."""

    name: str
    pattern: str
    callback: object
    params: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return self.name.startswith("admin:")

    @property
    def pk_kind(self) -> str:
        """What `pk` names in this route: the first path segment after api/, singular."""
        segment = self.pattern.removeprefix("api/").lstrip("^").split("/")[0]
        if self.name.startswith("outreach:call_guide"):
            return "call_guide"
        return PK_KINDS.get(segment, segment)

    @property
    def owned(self) -> bool:
        """Whether the route names an object that belongs to someone (else owner none)."""
        return bool(set(self.params) & OWNED_PARAMS) or (
            bool(set(self.params) & PK_PARAMS) and self.pk_kind in OWNED_KINDS
        )


PK_KINDS = {
    "cases": "case",
    "referrals": "referral",
    "patients": "patient",
    "messages": "message",
    "tasks": "task",
    "reminders": "reminder",
    "navigators": "navigator",
    "call-guides": "call_guide",
    "coaching-sessions": "coaching",
    "coaching-goals": "goal",
    "group-enrolments": "enrolment",
    # A timetable, nobody's: the world's one series and its session that has begun.
    "group-series": "group_series",
    "group-sessions": "group_session",
}
OWNED_KINDS = {
    "case", "referral", "patient", "message", "task", "reminder", "navigator",
    "coaching", "goal", "enrolment",
}  # fmt: skip
OWNED_PARAMS = {
    "barrier_id",
    "appointment_id",
    "request_id",
    "coverage_id",
    "upload_id",
    "enrolment_id",
    "coaching_id",
    "goal_id",
}
# The primary key of the route's object (its kind: the first path segment).
PK_PARAMS = {"pk", "id"}


def routes() -> list[Route]:
    """Every URL pattern of the project, by full (namespaced) name, from the resolver."""
    found: list[Route] = []

    def walk(resolver: URLResolver, prefix: str, namespace: str | None) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                name = entry.name or f"<unnamed {prefix}{entry.pattern}>"
                full = f"{namespace}:{name}" if namespace else name
                params = tuple(entry.pattern.regex.groupindex)
                found.append(Route(full, prefix + str(entry.pattern), entry.callback, params))

    walk(get_resolver(), "", None)
    return found


@dataclass
class Corner:
    """One owner's objects."""

    navigator: NavigatorProfile
    objects: dict[str, object] = field(default_factory=dict)


@dataclass
class World:
    users: dict[str, User | None]
    corners: dict[str, Corner]
    call_guide_pk: int
    program_code: str = "colorectal"
    fhir_bulk_job_pk: int = 0
    # A group class series (a timetable, no owner's) with a session that has begun;
    # each owner's patient is on its roster (their corner's "enrolment").
    group_series_pk: int = 0
    group_session_pk: int = 0
    # Each role's session key (none for anonymous), made once for the module.
    sessions: dict[str, str | None] = field(default_factory=dict)
    # Every watched row as each test finds it (tests/security/watched.py), taken once.
    baseline: dict[str, list[tuple]] = field(default_factory=dict)
    # The test client's handler, shared by every test's fresh client.
    handler: object = None

    def kwargs(self, route: Route, owner: str, role: str = "navigator") -> dict[str, object]:
        """The URL kwargs that name `owner`'s object(s) on `route`, as `role` sees them."""
        corner = self.corners.get(corner_key(role, owner))
        values: dict[str, object] = {}
        for param in route.params:
            if param in PK_PARAMS:
                kind = route.pk_kind
                if kind == "call_guide":
                    values[param] = self.call_guide_pk
                elif kind == "group_series":
                    values[param] = self.group_series_pk
                elif kind == "group_session":
                    values[param] = self.group_session_pk
                else:
                    assert corner is not None, f"{route.name}: pk of {kind} needs an owner"
                    values[param] = corner.objects[kind].pk  # type: ignore[attr-defined]
            elif param in OWNED_PARAMS:
                assert corner is not None, f"{route.name}: {param} needs an owner"
                values[param] = corner.objects[param.removesuffix("_id")].pk  # type: ignore[attr-defined]
            elif param == "code":
                barrier_type = "barrier-type" in route.name
                values[param] = "transportation" if barrier_type else self.program_code
            elif param == "job_id":
                values[param] = self.fhir_bulk_job_pk
            elif param == "series_id":
                values[param] = self.group_series_pk
            elif param == "session_id":
                values[param] = self.group_session_pk
            elif param == "resource_pk":
                # Nobody's lab: the case in the URL decides who may post (404 outside
                # one's scope); the lab itself is refused by the service (400).
                values[param] = 0
            elif param == "measure":
                values[param] = "CMS130"
            elif param == "day":
                values[param] = timezone.localdate().isoformat()
            elif param == "token_key":
                # Nobody's token: each role may revoke only their own (their own is
                # tests/navigator/test_api_tokens.py's), so this answers 404 to all.
                values[param] = "0123456789abcde"
            else:
                raise AssertionError(f"{route.name}: no value for URL parameter {param!r}")
        return values


# Each owner's patient has a family name and MRN found nowhere else: the leak probe
# searches responses for them.
MARKERS = {
    "own": ("Qzownq", "QZ1MRN77"),
    "covered": ("Qzcoverq", "QZ2MRN77"),
    "other_navigator": ("Qznavq", "QZ3MRN77"),
    "other_clinic": ("Qzclinicq", "QZ4MRN77"),
    "coach_own": ("Qzcoachq", "QZ5MRN77"),
    "coach_covered": ("Qzcoachcovq", "QZ6MRN77"),
}


NOTE_MARKER = "Qznoteq"


def _corner(owner: str, navigator: NavigatorProfile, clinic, staff: User) -> Corner:
    family_name, mrn = MARKERS[owner]
    case = factories.CaseFactory(
        navigator=navigator,
        patient__clinic=clinic,
        patient__family_name=family_name,
        patient__mrn=mrn,
    )
    user = navigator.user
    now = timezone.now()
    objects: dict[str, object] = {
        "case": case,
        "patient": case.patient,
        "navigator": navigator,
        "referral": Referral.objects.create(
            clinic=clinic,
            patient=case.patient,
            program=case.program,
            referring_clinician="Dr. Matrix",
            case=case,
            created_by=staff,
        ),
        # A referral upload (its import job): its clinic's staff and managers see it.
        "upload": ReferralUpload.objects.create(
            clinic=clinic,
            uploaded_by=staff,
            filename=f"{owner}.csv",
            sha256="0" * 64,
            mode=ReferralUpload.Mode.GOOD_ROWS,
            status=ReferralUpload.Status.DONE,
        ),
        "barrier": factories.CaseBarrierFactory(case=case),
        "attempt": factories.ContactAttemptFactory(case=case),
        # The care team's note: clinic staff never see a case's notes (NOTE_MARKER).
        "note": case_note_add(case=case, text=f"{NOTE_MARKER} {owner}", actor=user),
        "appointment": factories.AppointmentFactory(case=case),
        # An individual coaching session booked, and a goal set in one attended.
        "coaching": factories.CoachingSessionFactory(case=case),
        "goal": CoachingGoal.objects.create(
            case=case,
            patient=case.patient,
            text="Walk after dinner",
            behaviour="being_active",
            set_in=factories.CoachingSessionFactory(
                case=case,
                status="attended",
                minutes_spent=60,
                scheduled_at=now - dt.timedelta(days=3),
            ),
        ),
        "request": InterpreterRequest.objects.create(
            case=case, language="es", modality="phone", needed_at=now, created_by=user
        ),
        "task": CaseTask.objects.create(
            case=case,
            kind="no_show",
            subject_key=f"matrix:{case.pk}",
            due_on=timezone.localdate(),
            summary="No-show: call to re-book",
        ),
        "reminder": FollowUpReminder.objects.create(
            case=case, navigator=navigator, due_on=timezone.localdate()
        ),
        "message": PatientMessage.objects.create(
            patient=case.patient,
            case=case,
            kind="appointment_reminder",
            channel="sms",
            recipient="+16175550123",
            language="en",
            body="A reminder of your appointment.",
            rule_key=f"rule:matrix:{case.pk}",
            subject_key="appointment:1",
            slot=timezone.localdate(),
            due_at=now - dt.timedelta(hours=2),
            state="failed",
            state_reason="gave up after 5 tries",
            tries=5,
        ),
    }
    return Corner(navigator=navigator, objects=objects)


def build_world() -> World:
    from outreach.models import CallGuide

    north = factories.ClinicFactory(code="matrix-north", name="North")
    south = factories.ClinicFactory(code="matrix-south", name="South")
    staff = factories.ClinicStaffFactory(clinic=north)
    south_staff = factories.ClinicStaffFactory(clinic=south)
    # N4 (covered by N1) and C1 (who acts as the coach) are coaches; the rest navigators.
    coaches = ("covered", "coach_own")
    navigators = {
        owner: (factories.CoachFactory if owner in coaches else factories.NavigatorFactory)()
        for owner in (*OWNERS, *COACH_CORNERS)
    }
    for owner, navigator in navigators.items():
        navigator.clinics.add(south if owner == "other_clinic" else north)
    corners = {
        owner: _corner(
            owner,
            navigator,
            south if owner == "other_clinic" else north,
            south_staff if owner == "other_clinic" else staff,
        )
        for owner, navigator in navigators.items()
    }
    today = timezone.localdate()
    later = today + dt.timedelta(days=10)

    def coverage(absent: str, covering: str, starts_on: dt.date) -> Coverage:
        return Coverage.objects.create(
            absent=navigators[absent],
            covering=navigators[covering],
            starts_on=starts_on,
            ends_on=starts_on + dt.timedelta(days=7),
            created_by=navigators[covering].user,
        )

    # N1 covers N4 today: the one cover that changes what N1 sees. The others start
    # later, so that they change nobody's view today.
    corners["covered"].objects["coverage"] = coverage("covered", "own", today - dt.timedelta(1))
    corners["own"].objects["coverage"] = coverage("own", "covered", later)
    corners["other_navigator"].objects["coverage"] = coverage(
        "other_navigator", "other_clinic", later
    )
    corners["other_clinic"].objects["coverage"] = coverage("other_clinic", "other_navigator", later)
    # The coach's corners, as N1's: C1 covers N5 today; N5 covers C1 later.
    corners["coach_covered"].objects["coverage"] = coverage(
        "coach_covered", "coach_own", today - dt.timedelta(1)
    )
    corners["coach_own"].objects["coverage"] = coverage("coach_own", "coach_covered", later)
    users: dict[str, User | None] = {
        "anonymous": None,
        "navigator": navigators["own"].user,
        "coach": navigators["coach_own"].user,
        "clinic_staff": staff,
        "manager": factories.ManagerFactory(),
        "admin": factories.AdminFactory(is_staff=True, is_superuser=True),
        "compliance": factories.UserFactory(role=Role.COMPLIANCE),
    }
    guide = CallGuide.objects.filter(program__code="colorectal").order_by("pk").first()
    assert guide is not None, "the migrations seed the call guides"
    feed = FhirSource.objects.create(key="matrix-ehr", name="Matrix EHR", clinic=north)
    job = FhirBulkImport.objects.create(source=feed, location="/exports/matrix")
    # The series is led by the other navigator (N2): the acting navigator sees only their
    # own and covered patients on its roster, and takes no attendance.
    series = factories.GroupSeriesFactory(
        program=corners["own"].objects["case"].program,  # type: ignore[attr-defined]
        facilitator=navigators["other_navigator"].user,
        capacity=len(corners) + 2,
    )
    session = factories.GroupSessionFactory(
        series=series, number=1, starts_at=timezone.now() - dt.timedelta(hours=1)
    )
    for corner in corners.values():
        case = corner.objects["case"]
        corner.objects["enrolment"] = factories.GroupEnrolmentFactory(
            series=series, case=case, enrolled_by=corner.navigator.user
        )
    return World(
        users=users,
        corners=corners,
        call_guide_pk=guide.pk,
        fhir_bulk_job_pk=job.pk,
        group_series_pk=series.pk,
        group_session_pk=session.pk,
    )
