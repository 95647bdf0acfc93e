"""What a referring clinic sees of its referrals: the loop closing, in plain words.

A clinic never sees a case's barriers, notes, message contents or attempt
contents (`navigator.selectors.visibility.cases_visible_to` gives clinic staff no
case at all). What it may know is built here, from the referrals
`patients.selectors.referrals_visible_to` lets it see, and nowhere else:

- `referral_loop`: who navigates the patient and how to reach them, the step, the
  day of the last contact (reached or not, never what was said), the appointment,
  the test with its date and result, the diagnostic follow-up, why the case closed;
- `referral_rows`: the referral list with its search, filters and the "changed since
  you last looked" mark; `referrals_changed_since`: the daily digest's referral numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone
from django.utils.text import slugify

from navigator.models import (
    Appointment,
    AppointmentStatus,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    FollowUpCloseReason,
    FollowUpState,
    ResultFollowUp,
    User,
)
from navigator.worklist.filters import parse_search
from outreach.models import ContactAttempt, Direction, Outcome
from patients.models import (
    CLINIC_STATUS_LABELS,
    ClinicDigestPreference,
    Referral,
    ReferralSeen,
    ScreeningEvent,
    ScreeningProgram,
)
from patients.selectors import referral_list

# The timeline events that change what a clinic sees on its referral page; a note, a
# barrier or a message does not, and never marks a referral changed.
CLINIC_VISIBLE_EVENT_KINDS = (
    CaseEventKind.ASSIGNED,
    CaseEventKind.STATUS_CHANGED,
    CaseEventKind.ATTEMPT_LOGGED,
    CaseEventKind.APPOINTMENT_BOOKED,
    CaseEventKind.APPOINTMENT_UPDATED,
    CaseEventKind.SCREENING_RECORDED,
    CaseEventKind.FOLLOW_UP_OPENED,
    CaseEventKind.FOLLOW_UP_DONE,
    CaseEventKind.FOLLOW_UP_CLOSED,
    CaseEventKind.ELIGIBILITY_OVERRIDDEN,
)

# Why a case closed, as a referring clinician reads it.
CLOSE_REASONS: dict[str, str] = {
    CaseStatus.CLOSED: "Screening complete; navigation finished",
    CaseStatus.TREATMENT: "A diagnosis was made; the patient is with treatment navigation",
    CaseStatus.FOLLOW_UP_CLOSED: "Closed without the follow-up (diagnostic test or repeat)",
    CaseStatus.CLOSED_UNREACHABLE: "The navigator could not reach the patient",
    CaseStatus.DECLINED: "The patient declined screening",
    CaseStatus.INELIGIBLE: "The patient is not eligible for this screening",
}


def clinic_steps() -> list[tuple[str, str]]:
    """The steps a clinic sees, once each, as (slug, words): "Received", "Navigator
    reaching out", ... (several case statuses read as one step)."""
    return list({slugify(label): label for label in CLINIC_STATUS_LABELS.values()}.items())


def statuses_of_step(step: str) -> list[str]:
    return [status for status, label in CLINIC_STATUS_LABELS.items() if slugify(label) == step]


@dataclass(frozen=True)
class LoopFollowUp:
    """The diagnostic follow-up an abnormal result called for, and its outcome."""

    test: str
    due_on: dt.date | None
    outcome: str


@dataclass(frozen=True)
class ReferralLoop:
    """A referral's loop in plain words: only what a referring clinic may know."""

    navigator_name: str
    navigator_phone: str  # E.164, or "" if the navigator gave none
    navigator_email: str
    step: str
    last_contact_on: dt.date | None
    last_contact_reached: bool | None  # None: no contact attempted yet
    appointment_on: dt.date | None
    appointment_status: str
    appointment_upcoming: bool
    test_name: str
    test_on: dt.date | None
    test_result: str
    follow_up: LoopFollowUp | None
    closed_reason: str
    closed_on: dt.date | None

    @property
    def last_contact(self) -> str:
        if self.last_contact_on is None:
            return "No contact yet"
        return "Patient reached" if self.last_contact_reached else "Tried; patient not reached"


def _reached(direction: str, outcome: str) -> bool:
    # A text or call from the patient is the patient reaching us.
    return direction == Direction.INBOUND or outcome == Outcome.REACHED


def referral_loop(referral: Referral) -> ReferralLoop:
    """The loop of a referral fetched by `patients.selectors.referral_detail` (its case,
    navigator and their user already joined): three queries, however long the case."""
    case = referral.case
    navigator = case.navigator
    user = navigator.user if navigator is not None else None
    attempt = (
        ContactAttempt.objects.filter(case=case)
        .order_by("-attempted_at", "-pk")
        .values("attempted_at", "direction", "outcome")
        .first()
    )
    now = timezone.now()
    # The next booked appointment, else the latest one of any status.
    appointment = (
        Appointment.objects.filter(case=case)
        .annotate(
            upcoming=Case(
                When(status=AppointmentStatus.BOOKED, scheduled_at__gte=now, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by("-upcoming", "-scheduled_at", "-pk")
        .first()
    )
    # The screening test: the case's first (later ones answer its follow-ups).
    test = (
        ScreeningEvent.objects.filter(case=case)
        .select_related("modality", "category")
        .order_by("performed_on", "pk")
        .first()
    )
    follow_up = (
        ResultFollowUp.objects.filter(case=case)
        .select_related("answered_by__category")
        .order_by("-created_at", "-pk")
        .first()
    )
    closed = not case.is_open
    closed_reason = CLOSE_REASONS.get(case.status, "") if closed else ""
    if case.status == CaseStatus.FOLLOW_UP_CLOSED and follow_up and follow_up.close_reason:
        reason = FollowUpCloseReason(follow_up.close_reason).label.lower()
        closed_reason = f"{closed_reason}: {reason}"
    return ReferralLoop(
        navigator_name=(user.get_full_name() or user.username) if user else "",
        navigator_phone=navigator.work_phone.as_e164 if navigator and navigator.work_phone else "",
        navigator_email=user.email if user else "",
        step=CLINIC_STATUS_LABELS.get(case.status, case.get_status_display()),
        last_contact_on=timezone.localdate(attempt["attempted_at"]) if attempt else None,
        last_contact_reached=_reached(attempt["direction"], attempt["outcome"])
        if attempt
        else None,
        appointment_on=timezone.localdate(appointment.scheduled_at) if appointment else None,
        appointment_status=appointment.get_status_display() if appointment else "",
        appointment_upcoming=bool(appointment and getattr(appointment, "upcoming", False)),
        test_name=test.modality.name if test else "",
        test_on=test.performed_on if test else None,
        test_result=test.result_words if test else "",
        follow_up=_loop_follow_up(follow_up),
        closed_reason=closed_reason,
        closed_on=timezone.localdate(case.closed_at) if closed and case.closed_at else None,
    )


# --- The referral list ------------------------------------------------------------------

_REFERRAL_NUMBER = re.compile(r"#?(\d{1,9})")


def referral_search(text: str) -> Q:
    """A referral number ("#12" or "12"), else a patient's name, MRN (however typed),
    phone number or date of birth, as the worklist reads them (ValidationError for a
    malformed date)."""
    search = parse_search(text)
    if search is None:
        return Q()
    condition = search.condition()
    number = _REFERRAL_NUMBER.fullmatch(search.text)
    if number and not search.phone:
        condition |= Q(pk=int(number.group(1)))
    return condition


def _last_change():
    return Subquery(
        CaseEvent.objects.filter(case=OuterRef("case"), kind__in=CLINIC_VISIBLE_EVENT_KINDS)
        .order_by("-at")
        .values("at")[:1]
    )


def referral_rows(
    *,
    user: User,
    search: str = "",
    program: ScreeningProgram | None = None,
    step: str = "",
    changed_only: bool = False,
) -> QuerySet[Referral]:
    """The referrals this user may see, newest first, each with `seen_at` (when this
    user last opened it, or None) and `changed` (never opened, or something the clinic
    sees changed since): a fixed number of queries per page."""
    seen = ReferralSeen.objects.filter(referral=OuterRef("pk"), user=user).values("seen_at")[:1]
    rows = (
        referral_list(user=user)
        .annotate(seen_at=Subquery(seen), last_change_at=_last_change())
        .annotate(
            changed=Case(
                When(seen_at__isnull=True, then=Value(True)),
                When(last_change_at__gt=F("seen_at"), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
    )
    if search:
        rows = rows.filter(referral_search(search))
    if program is not None:
        rows = rows.filter(program=program)
    if step:
        rows = rows.filter(case__status__in=statuses_of_step(step))
    if changed_only:
        rows = rows.filter(changed=True)
    return rows.order_by("-created_at", "-pk")


def referrals_changed_since(*, clinic_id: int, since: dt.datetime) -> list[int]:
    """The numbers of a clinic's referrals whose case changed, as the clinic sees it,
    since a moment: for the daily digest (numbers only, nothing of the patient)."""
    changed = CaseEvent.objects.filter(
        case=OuterRef("case"), kind__in=CLINIC_VISIBLE_EVENT_KINDS, at__gte=since
    )
    return list(
        Referral.objects.filter(clinic_id=clinic_id)
        .filter(Q(Exists(changed)) | Q(created_at__gte=since))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def digest_enabled(*, user: User) -> bool:
    """Whether this clinic user asked for the daily digest."""
    return ClinicDigestPreference.objects.filter(user=user, enabled=True).exists()


def _loop_follow_up(follow_up: ResultFollowUp | None) -> LoopFollowUp | None:
    """The latest follow-up a result called for, and what became of it, in words."""
    if follow_up is None:
        return None
    if follow_up.state == FollowUpState.DONE and follow_up.answered_by is not None:
        answer = follow_up.answered_by
        outcome = f"Done {answer.performed_on:%Y-%m-%d}: {answer.result_words}"
    elif follow_up.state == FollowUpState.CLOSED:
        outcome = "Not done: " + FollowUpCloseReason(follow_up.close_reason).label.lower()
    else:
        outcome = "Not done yet"
    return LoopFollowUp(test=follow_up.next_step, due_on=follow_up.due_on, outcome=outcome)
