"""The worklist: which of a navigator's open cases to work first, and why.

This module is the one place for the ranking rules (`RULES`). Each rule is one
*fact* the database works out for every case in the query that lists them: the
date the rule is about (the abnormal result, the appointment, the callback, the
due follow-up, the opening) when the rule applies, NULL when it does not. From
the facts the query derives a boolean per rule (``reason_<code>``) and the
case's priority (its most urgent rule), and sorts by priority and then by the
fact itself, earliest first. So a caseload of any size is ranked in one query,
and every row can say why it is there without another one.

The filters, the search and the sort orders of the worklist live here too;
`navigator.selectors.worklist_for` puts them together.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower
from django.utils import dateformat, timezone

from navigator.models import (
    Appointment,
    AppointmentPurpose,
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseBarrier,
    NavigationCase,
)
from outreach.models import Channel, ContactAttempt, Direction, FollowUpReminder, Purpose
from patients.models import (
    Clinic,
    PatientPhone,
    ScreeningEvent,
    ScreeningProgram,
    ScreeningResult,
)

# An appointment this close needs its prep call (bowel prep, directions, a ride).
PREP_CALL_WINDOW = dt.timedelta(days=7)


@dataclass(frozen=True)
class Moment:
    """When the worklist is drawn. Rules read "today" and "now" from here only, so
    that a test (or a page) ranks and labels with one clock."""

    today: dt.date
    now: dt.datetime

    @classmethod
    def current(cls) -> Moment:
        return cls(today=timezone.localdate(), now=timezone.now())


@dataclass(frozen=True)
class Reason:
    code: str
    priority: int
    label: str


def _no_details(moment: Moment) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Rule:
    """One reason a case needs doing today.

    `fact` is an expression over a case (``OuterRef("pk")`` is the case): the
    date the rule is about when it applies, else NULL. It is also the tiebreak
    within the rule's priority, earliest first, and the date the label shows.
    `details` are further annotations that only the label reads.
    """

    code: str
    priority: int
    title: str
    fact: Callable[[Moment], Any]
    label: Callable[[NavigationCase, Moment], str]
    details: Callable[[Moment], dict[str, Any]] = _no_details

    @property
    def fact_name(self) -> str:
        return f"wl_{self.code}"

    @property
    def flag_name(self) -> str:
        return f"reason_{self.code}"

    def detail(self, name: str) -> str:
        return f"{self.fact_name}_{name}"


def _annotation(case: NavigationCase, name: str) -> Any:
    # What the worklist's query annotated the case with (see `annotate`).
    return getattr(case, name)


# --- How the rows speak ---------------------------------------------------------------


def day_label(value: dt.date | dt.datetime, moment: Moment) -> str:
    """ "3 Nov", with the year only when it is not this year's."""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    text = dateformat.format(value, "j M")
    return text if value.year == moment.today.year else f"{text} {value.year}"


def _short_test_name(name: str) -> str:
    # "FIT (fecal immunochemical test)" → "FIT": the row has room for the short name.
    return re.sub(r"\s*\(.*\)\s*$", "", name or "") or "test"


def _in_sentence(name: str) -> str:
    # "Colonoscopy" → "colonoscopy", but "CT colonography" keeps its capitals.
    first = name.split(" ", 1)[0]
    return name if first.isupper() else name[:1].lower() + name[1:]


# What an inbound contact is called in a row: "inbound text on 21 Nov".
INBOUND_WORDS: dict[str, str] = {
    Channel.PHONE: "call",
    Channel.SMS: "text",
    Channel.EMAIL: "email",
    Channel.LETTER: "letter",
    Channel.IN_PERSON: "visit",
    Channel.PORTAL: "portal message",
}


# The next step in words: "follow up 30 Nov by text".
NEXT_CHANNEL_WORDS: dict[str, str] = {
    Channel.PHONE: "phone",
    Channel.SMS: "text",
    Channel.EMAIL: "email",
    Channel.LETTER: "letter",
    Channel.IN_PERSON: "visit",
    Channel.PORTAL: "patient portal",
}


# --- The rules, most urgent first -----------------------------------------------------


# The subqueries that do not depend on the clock are built once: building their
# filters is most of what it costs to draw up the worklist's query, and a query
# resolves a copy of each, never the original.


def answered_since() -> tuple[Exists, Exists]:
    """For a screening (the outer row): a later screening on its case, and a diagnostic
    appointment booked (or kept) on its case since. An abnormal result with neither
    is unanswered; the worklist and the task rules (outreach.case_tasks) both ask."""
    later = ScreeningEvent.objects.filter(case=OuterRef("case")).filter(
        Q(performed_on__gt=OuterRef("performed_on"))
        | Q(performed_on=OuterRef("performed_on"), pk__gt=OuterRef("pk"))
    )
    diagnostic_booked = Appointment.objects.filter(
        case=OuterRef("case"),
        purpose=AppointmentPurpose.DIAGNOSTIC,
        status__in=[AppointmentStatus.BOOKED, AppointmentStatus.KEPT],
        created_at__date__gte=OuterRef("performed_on"),
    )
    return Exists(later), Exists(diagnostic_booked)


@functools.cache
def _abnormal_result_unanswered() -> QuerySet[ScreeningEvent]:
    """The case's latest screening, when it is abnormal, calls for a diagnostic test,
    and no diagnostic appointment has been booked (or kept) since.

    "Latest" as in services.diagnostic_follow_up_needed: a later screening (say the
    colonoscopy, recorded) answers an earlier abnormal result.
    """
    later, diagnostic_booked = answered_since()
    return (
        ScreeningEvent.objects.filter(
            case=OuterRef("pk"),
            result=ScreeningResult.ABNORMAL,
            modality__diagnostic_follow_up__isnull=False,
        )
        .filter(~later, ~diagnostic_booked)
        .order_by("-performed_on", "-pk")
    )


@functools.cache
def _abnormal_result_fact() -> Subquery:
    return Subquery(_abnormal_result_unanswered().values("performed_on")[:1])


@functools.cache
def _abnormal_result_details() -> tuple[tuple[str, Subquery], ...]:
    unanswered = _abnormal_result_unanswered()
    return (
        ("wl_abnormal_result_test", Subquery(unanswered.values("modality__name")[:1])),
        (
            "wl_abnormal_result_follow_up",
            Subquery(unanswered.values("modality__diagnostic_follow_up__name")[:1]),
        ),
    )


def _abnormal_result_label(case: NavigationCase, moment: Moment) -> str:
    rule = ABNORMAL_RESULT
    test = _short_test_name(getattr(case, rule.detail("test")))
    follow_up = _in_sentence(getattr(case, rule.detail("follow_up")) or "test")
    day = day_label(getattr(case, rule.fact_name), moment)
    return f"Abnormal {test} on {day}: no diagnostic {follow_up} booked"


ABNORMAL_RESULT = Rule(
    code="abnormal_result",
    priority=1,
    title="Abnormal result, no diagnostic test booked",
    fact=lambda moment: _abnormal_result_fact(),
    label=_abnormal_result_label,
    details=lambda moment: dict(_abnormal_result_details()),
)


@functools.cache
def _prep_called() -> Exists:
    # A prep call counts only if logged after the booking: a call about an earlier,
    # rescheduled appointment did not prepare the patient for this one.
    return Exists(
        ContactAttempt.objects.filter(
            case=OuterRef("case"),
            purpose=Purpose.PREP_CALL,
            attempted_at__gte=OuterRef("created_at"),
        )
    )


def _prep_call_fact(moment: Moment) -> Subquery:
    due = Appointment.objects.filter(
        ~_prep_called(),
        case=OuterRef("pk"),
        status=AppointmentStatus.BOOKED,
        scheduled_at__gte=moment.now,
        scheduled_at__lt=moment.now + PREP_CALL_WINDOW,
    ).order_by("scheduled_at", "pk")
    return Subquery(due.values("scheduled_at")[:1])


def _prep_call_label(case: NavigationCase, moment: Moment) -> str:
    day = day_label(_annotation(case, "wl_prep_call"), moment)
    return f"Appointment on {day}, no prep call logged"


PREP_CALL = Rule(
    code="prep_call",
    priority=2,
    title="Appointment within 7 days, no prep call logged",
    fact=_prep_call_fact,
    label=_prep_call_label,
)


@functools.cache
def _unanswered_inbound() -> QuerySet[ContactAttempt]:
    """The patient's latest inbound contact, if no outbound attempt came at or after it."""
    answered = ContactAttempt.objects.filter(
        case=OuterRef("case"),
        direction=Direction.OUTBOUND,
        attempted_at__gte=OuterRef("attempted_at"),
    )
    return (
        ContactAttempt.objects.filter(case=OuterRef("pk"), direction=Direction.INBOUND)
        .filter(~Exists(answered))
        .order_by("-attempted_at", "-pk")
    )


@functools.cache
def _called_back_fact() -> Subquery:
    return Subquery(_unanswered_inbound().values("attempted_at")[:1])


@functools.cache
def _called_back_channel() -> Subquery:
    return Subquery(_unanswered_inbound().values("channel")[:1])


def _called_back_label(case: NavigationCase, moment: Moment) -> str:
    words = INBOUND_WORDS.get(_annotation(case, "wl_called_back_channel"), "contact")
    day = day_label(_annotation(case, "wl_called_back"), moment)
    return f"Patient called back (inbound {words} on {day})"


CALLED_BACK = Rule(
    code="called_back",
    priority=3,
    title="Patient called back (inbound, not yet answered)",
    fact=lambda moment: _called_back_fact(),
    label=_called_back_label,
    details=lambda moment: {"wl_called_back_channel": _called_back_channel()},
)


def _follow_up_due_label(case: NavigationCase, moment: Moment) -> str:
    due = getattr(case, FOLLOW_UP_DUE.fact_name)
    if due >= moment.today:
        return "Follow-up due today"
    return f"Follow-up due since {day_label(due, moment)}"


FOLLOW_UP_DUE = Rule(
    code="follow_up_due",
    priority=4,
    title="Follow-up date reached",
    fact=lambda moment: Case(
        When(next_follow_up__lte=moment.today, then=F("next_follow_up")),
        default=None,
        output_field=DateField(),
    ),
    label=_follow_up_due_label,
)


@functools.cache
def _never_contacted_fact() -> Case:
    return Case(
        When(~Exists(ContactAttempt.objects.filter(case=OuterRef("pk"))), then=F("opened_at")),
        default=None,
        output_field=DateTimeField(),
    )


NEVER_CONTACTED = Rule(
    code="never_contacted",
    priority=5,
    title="Newly assigned, never contacted",
    # No attempt at all, either way: nobody has spoken to the patient about this case.
    fact=lambda moment: _never_contacted_fact(),
    label=lambda case, moment: "Newly assigned, never contacted",
)

RULES: tuple[Rule, ...] = (ABNORMAL_RESULT, PREP_CALL, CALLED_BACK, FOLLOW_UP_DUE, NEVER_CONTACTED)
RULES_BY_CODE = {rule.code: rule for rule in RULES}
# Cases no rule picks come after every case some rule does.
NO_REASON_PRIORITY = max(rule.priority for rule in RULES) + 1

if sorted(rule.priority for rule in RULES) != list(range(1, len(RULES) + 1)):  # pragma: no cover
    raise ImportError("Worklist rules need distinct priorities 1..n: the ranking depends on it.")


def annotate(cases: QuerySet[NavigationCase], moment: Moment) -> QuerySet[NavigationCase]:
    """Each rule's fact, details and flag, the case's priority, and what a row shows."""
    cases = cases.annotate(**{rule.fact_name: rule.fact(moment) for rule in RULES})
    flags = {
        rule.flag_name: ExpressionWrapper(
            Q(**{f"{rule.fact_name}__isnull": False}), output_field=BooleanField()
        )
        for rule in RULES
    }
    priority = Case(
        *[
            When(**{f"{rule.fact_name}__isnull": False}, then=Value(rule.priority))
            for rule in RULES
        ],
        default=Value(NO_REASON_PRIORITY),
        output_field=IntegerField(),
    )
    details = {name: value for rule in RULES for name, value in rule.details(moment).items()}
    return cases.annotate(**details, **flags, wl_priority=priority, **_row_facts(moment))


@functools.cache
def _timeless_row_facts() -> tuple[tuple[str, Any], ...]:
    open_barriers = (
        CaseBarrier.objects.filter(case=OuterRef("pk"))
        .exclude(status=BarrierStatus.RESOLVED)
        .order_by()
        .values("case")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        (
            "last_attempt_at",
            Subquery(
                ContactAttempt.objects.filter(case=OuterRef("pk"))
                .order_by("-attempted_at", "-pk")
                .values("attempted_at")[:1]
            ),
        ),
        ("open_barrier_count", Coalesce(Subquery(open_barriers), 0)),
        (
            "has_pending_reminder",
            Exists(FollowUpReminder.objects.filter(case=OuterRef("pk"), dismissed_at=None)),
        ),
    )


def _row_facts(moment: Moment) -> dict[str, Any]:
    """What every row shows besides its reasons, each a subquery rather than a join,
    so that no GROUP BY multiplies the work and every row is one row."""
    return {
        **dict(_timeless_row_facts()),
        "next_appointment_at": Subquery(
            Appointment.objects.filter(
                case=OuterRef("pk"), status=AppointmentStatus.BOOKED, scheduled_at__gte=moment.now
            )
            .order_by("scheduled_at", "pk")
            .values("scheduled_at")[:1]
        ),
        # Case/When, not a bare Q: a case with no follow-up date is "not overdue", never NULL.
        "follow_up_is_overdue": Case(
            When(next_follow_up__lt=moment.today, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    }


def reasons(case: NavigationCase, moment: Moment) -> list[Reason]:
    """Why an annotated case is on the list, most urgent first (no queries)."""
    return [
        Reason(code=rule.code, priority=rule.priority, label=rule.label(case, moment))
        for rule in RULES
        if getattr(case, rule.flag_name)
    ]


def quiet_label(case: NavigationCase, moment: Moment) -> str:
    """What a row with nothing to do today says instead of a reason."""
    if case.next_follow_up is None:
        return "No follow-up date set"
    return f"Next follow-up {day_label(case.next_follow_up, moment)}"


# --- Sorting --------------------------------------------------------------------------


def priority_ordering() -> list[OrderBy]:
    """Most urgent reason first; within a reason its fact, earliest first (the oldest
    result, the soonest appointment, the longest-waiting callback, the longest-due
    follow-up, the longest-waiting new case); then the rest by next follow-up.

    A rule's fact is NULL wherever the rule does not hold, and every rule above a
    case's priority does not hold for it, so sorting on all the facts in rule order
    sorts each priority group by its own fact.
    """
    return [
        F("wl_priority").asc(),
        *[F(rule.fact_name).asc(nulls_last=True) for rule in RULES],
        F("next_follow_up").asc(nulls_last=True),
        F("opened_at").asc(),
        F("pk").asc(),
    ]


@dataclass(frozen=True)
class Sort:
    label: str
    column: str  # the table column it sorts, for aria-sort
    direction: str  # "ascending" or "descending"
    ordering: Callable[[], list[OrderBy]]


DEFAULT_SORT = "priority"
SORTS: dict[str, Sort] = {
    "priority": Sort("What to do first", "reasons", "ascending", lambda: []),
    "follow_up": Sort(
        "Next follow-up, soonest first",
        "next_step",
        "ascending",
        lambda: [F("next_follow_up").asc(nulls_last=True)],
    ),
    "-follow_up": Sort(
        "Next follow-up, latest first",
        "next_step",
        "descending",
        lambda: [F("next_follow_up").desc(nulls_last=True)],
    ),
    # Never contacted counts as longest ago.
    "last_attempt": Sort(
        "Last attempt, longest ago first",
        "last_attempt",
        "ascending",
        lambda: [F("last_attempt_at").asc(nulls_first=True)],
    ),
    "-last_attempt": Sort(
        "Last attempt, most recent first",
        "last_attempt",
        "descending",
        lambda: [F("last_attempt_at").desc(nulls_last=True)],
    ),
    "opened": Sort("Opened, oldest first", "", "ascending", lambda: [F("opened_at").asc()]),
    "-opened": Sort("Opened, newest first", "", "descending", lambda: [F("opened_at").desc()]),
    "name": Sort(
        "Patient name, A to Z",
        "patient",
        "ascending",
        lambda: [Lower("patient__family_name").asc(), Lower("patient__given_name").asc()],
    ),
    "-name": Sort(
        "Patient name, Z to A",
        "patient",
        "descending",
        lambda: [Lower("patient__family_name").desc(), Lower("patient__given_name").desc()],
    ),
    "appointment": Sort(
        "Next appointment, soonest first",
        "next_step",
        "ascending",
        lambda: [F("next_appointment_at").asc(nulls_last=True)],
    ),
    "-appointment": Sort(
        "Next appointment, latest first",
        "next_step",
        "descending",
        lambda: [F("next_appointment_at").desc(nulls_last=True)],
    ),
}
SORT_CHOICES = [(key, sort.label) for key, sort in SORTS.items()]


def ordering(sort: str) -> list[Any]:
    """The chosen order, then priority order to break its ties, then the case id."""
    return [*SORTS[sort].ordering(), *priority_ordering()]


# --- Search ---------------------------------------------------------------------------

_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_US_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")
_PHONE = re.compile(r"\+?[\d\s().-]+")
# A US number has ten digits; fewer is an MRN or a typo, not a phone number.
_PHONE_MIN_DIGITS = 10
_MAX_NAME_WORDS = 4


@dataclass(frozen=True)
class Search:
    """What a navigator typed in the one search box, read as what it looks like:
    a date of birth, a phone number (any formatting), or a name or MRN."""

    text: str
    birth_date: dt.date | None = None
    phone: str = ""  # E.164, as PatientPhone stores it
    words: tuple[str, ...] = ()

    def condition(self) -> Q:
        if self.birth_date is not None:
            return Q(patient__birth_date=self.birth_date)
        condition = Q(patient__mrn__iexact=self.text)
        if self.phone:
            condition |= Q(
                Exists(PatientPhone.objects.filter(patient=OuterRef("patient"), number=self.phone))
            )
        if self.words:
            # Every word in either name: "Maria Lopez", "lopez maria" and "Lopez, M" all match.
            name = Q()
            for word in self.words:
                name &= Q(patient__given_name__icontains=word) | Q(
                    patient__family_name__icontains=word
                )
            condition |= name
        return condition


def _parse_date(text: str) -> dt.date | None:
    try:
        if _ISO_DATE.fullmatch(text):
            year, month, day = (int(part) for part in text.split("-"))
            return dt.date(year, month, day)
        if _US_DATE.fullmatch(text):
            month, day, year = (int(part) for part in text.split("/"))
            return dt.date(year, month, day)
    except ValueError:
        raise ValidationError(
            "“%(value)s” is not a date. Write a date of birth as YYYY-MM-DD or MM/DD/YYYY.",
            code="invalid_date",
            params={"value": text},
        ) from None
    return None


def _parse_phone(text: str) -> str:
    if not _PHONE.fullmatch(text) or sum(c.isdigit() for c in text) < _PHONE_MIN_DIGITS:
        return ""
    try:
        number = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_search(text: str) -> Search | None:
    """Read the search box; a malformed date is refused rather than matched as a name."""
    text = " ".join(text.split())
    if not text:
        return None
    birth_date = _parse_date(text)
    if birth_date is not None:
        return Search(text=text, birth_date=birth_date)
    phone = _parse_phone(text)
    if phone:
        return Search(text=text, phone=phone)
    words = tuple(word for word in re.split(r"[\s,]+", text) if word)[:_MAX_NAME_WORDS]
    return Search(text=text, words=words)


# --- Filters --------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The worklist's filters, checked (see forms.WorklistFilterForm)."""

    program: ScreeningProgram | None = None
    status: str = ""
    language: str = ""
    clinic: Clinic | None = None
    barrier_type: BarrierType | None = None
    overdue_only: bool = False
    search: Search | None = None
    sort: str = DEFAULT_SORT

    def apply(self, cases: QuerySet[NavigationCase], moment: Moment) -> QuerySet[NavigationCase]:
        if self.program is not None:
            cases = cases.filter(program=self.program)
        if self.status:
            cases = cases.filter(status=self.status)
        if self.language:
            cases = cases.filter(patient__preferred_language=self.language)
        if self.clinic is not None:
            cases = cases.filter(patient__clinic=self.clinic)
        if self.barrier_type is not None:
            cases = cases.filter(
                Exists(
                    CaseBarrier.objects.filter(
                        case=OuterRef("pk"), barrier_type=self.barrier_type
                    ).exclude(status=BarrierStatus.RESOLVED)
                )
            )
        if self.overdue_only:
            cases = cases.filter(next_follow_up__lt=moment.today)
        if self.search is not None:
            cases = cases.filter(self.search.condition())
        return cases


def rows(
    cases: Iterable[NavigationCase], *, moment: Moment, covering: Callable[[NavigationCase], bool]
) -> list[NavigationCase]:
    """Give each annotated case its reasons, its one-line summary and, where the
    person working the list covers it for a colleague, whom for (no queries)."""
    result = list(cases)
    for case in result:
        case.reasons = reasons(case, moment)  # type: ignore[attr-defined]
        case.summary = (  # type: ignore[attr-defined]
            case.reasons[0].label if case.reasons else quiet_label(case, moment)  # type: ignore[attr-defined]
        )
        case.covering_for = case.navigator if covering(case) else None  # type: ignore[attr-defined]
        case.patient_age = case.patient.age_on(moment.today)  # type: ignore[attr-defined]
        case.next_channel_label = NEXT_CHANNEL_WORDS.get(case.next_channel, "")  # type: ignore[attr-defined]
    return result
