"""The worklist's ranking rules (`RULES`), most urgent first, and the words a row
says for each.

Each rule is one *fact* the database works out for every case in the query that
lists them: the date the rule is about (the abnormal result, the appointment, the
callback, the due follow-up, the opening) when the rule applies, NULL when it
does not. `navigator.worklist.query.annotate` turns the facts into a boolean per
rule (``reason_<code>``) and the case's priority (its most urgent rule).
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from django.db.models import (
    Case,
    DateField,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.utils import timezone

from config.date_format import format_date
from navigator.models import (
    Appointment,
    AppointmentPurpose,
    AppointmentStatus,
    FollowUpState,
    KitMailing,
    NavigationCase,
    ResultFollowUp,
)
from navigator.worklist.control_rules import (
    ABOVE_TARGET,
    LAB_OVERDUE,
    POOR_CONTROL,
    SESSION_MISSED,
)
from navigator.worklist.rule_base import Moment, Reason, Rule, annotation, day_label

__all__ = ["RULES", "Moment", "Reason", "Rule", "day_label"]
from outreach.models import (
    UNSUCCESSFUL_OUTCOMES,
    Channel,
    ContactAttempt,
    Direction,
    Outcome,
    Purpose,
)

# An appointment this close needs its prep call (bowel prep, directions, a ride).
PREP_CALL_WINDOW = dt.timedelta(days=7)


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


# --- The rules, most urgent first -----------------------------------------------------


# The subqueries that do not depend on the clock are built once: building their
# filters is most of what it costs to draw up the worklist's query, and a query
# resolves a copy of each, never the original.


def follow_up_booked() -> Q:
    """For a follow-up (the outer row): its test booked (or kept) on its case since the
    result, or, for a home test, a kit mailed since. An open follow-up with neither is
    unanswered; the worklist and the task rules (outreach.services.navigator_tasks)
    both ask."""
    appointment = Appointment.objects.filter(
        case=OuterRef("case"),
        purpose=AppointmentPurpose.DIAGNOSTIC,
        status__in=[AppointmentStatus.BOOKED, AppointmentStatus.KEPT],
        created_at__date__gte=OuterRef("result_on"),
    )
    kit = KitMailing.objects.filter(
        case=OuterRef("case"),
        modality=OuterRef("next_modality"),
        mailed_on__gte=OuterRef("result_on"),
    )
    return Exists(appointment) | Exists(kit)


@functools.cache
def _follow_up_unbooked() -> QuerySet[ResultFollowUp]:
    """The case's open follow-up (navigator.models.ResultFollowUp), when its test is not
    booked yet."""
    # Unordered: a case has at most one open follow-up (one_open_follow_up_per_case),
    # and the model's ordering would sort that one row for every case on the list.
    return (
        ResultFollowUp.objects.filter(case=OuterRef("pk"), state=FollowUpState.OPEN)
        .filter(~follow_up_booked())
        .order_by()
    )


@functools.cache
def _abnormal_result_fact() -> Subquery:
    return Subquery(_follow_up_unbooked().values("screening__performed_on")[:1])


@functools.cache
def _abnormal_result_details() -> tuple[tuple[str, Subquery], ...]:
    unanswered = _follow_up_unbooked()
    return (
        ("wl_abnormal_result_test", Subquery(unanswered.values("screening__modality__name")[:1])),
        ("wl_abnormal_result_follow_up", Subquery(unanswered.values("next_step")[:1])),
        ("wl_abnormal_result_due", Subquery(unanswered.values("due_on")[:1])),
        (
            "wl_abnormal_result_meaning",
            Subquery(unanswered.values("screening__category__meaning")[:1]),
        ),
    )


def _abnormal_result_label(case: NavigationCase, moment: Moment) -> str:
    rule = ABNORMAL_RESULT
    test = _short_test_name(getattr(case, rule.detail("test")))
    follow_up = _in_sentence(getattr(case, rule.detail("follow_up")) or "follow-up")
    day = day_label(getattr(case, rule.fact_name), moment)
    due = getattr(case, rule.detail("due"))
    due_words = f", due {day_label(due, moment)}" if due else ""
    words = "Inadequate" if getattr(case, rule.detail("meaning")) == "inadequate" else "Abnormal"
    return f"{words} {test} on {day}: {follow_up} not booked{due_words}"


ABNORMAL_RESULT = Rule(
    code="abnormal_result",
    priority=1,
    title="Result needing follow-up, follow-up test not booked",
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
    day = day_label(annotation(case, "wl_prep_call"), moment)
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
    words = INBOUND_WORDS.get(annotation(case, "wl_called_back_channel"), "contact")
    day = day_label(annotation(case, "wl_called_back"), moment)
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
    priority=6,
    title="Newly assigned, never contacted",
    # No attempt at all, either way: nobody has spoken to the patient about this case.
    fact=lambda moment: _never_contacted_fact(),
    label=lambda case, moment: "Newly assigned, never contacted",
)

# A control programme's rules (control_rules.py) among them: a missed coaching session
# is an event to act on, after what the navigator promised (a follow-up due) and
# before a new case's first call; the standing state of the patient's labs comes after
# the first call, worst first: poor control (CMS122's numerator), the lab overdue
# (getting the patient tested is what improves CMS122), then merely above target.
RULES: tuple[Rule, ...] = (
    ABNORMAL_RESULT,
    PREP_CALL,
    CALLED_BACK,
    FOLLOW_UP_DUE,
    SESSION_MISSED,
    NEVER_CONTACTED,
    POOR_CONTROL,
    LAB_OVERDUE,
    ABOVE_TARGET,
)
RULES_BY_CODE = {rule.code: rule for rule in RULES}
# Cases no rule picks come after every case some rule does.
NO_REASON_PRIORITY = max(rule.priority for rule in RULES) + 1


# --- Tried today ------------------------------------------------------------------------
# Not a rule: a case someone called today without reaching the patient keeps its
# reasons, but waits below every case not yet tried until it is due again.


def tried_today(moment: Moment) -> Case:
    """When the case was last tried today without reaching the patient, else NULL.

    Tried today: an outbound attempt today (in the site's time zone, by anyone) with
    an unsuccessful outcome (`UNSUCCESSFUL_OUTCOMES`: no answer, voicemail, wrong
    number...), with nothing since that reopens it: no attempt today that reached
    the patient, and no inbound contact after it (a callback is worked at once).
    Only while the case is not due again before today: its next follow-up is today,
    later or unset. A follow-up left overdue keeps the case up with the rest.
    """
    today = Q(attempted_at__gte=moment.day_starts, attempted_at__lt=moment.day_ends)
    reopened = ContactAttempt.objects.filter(today, case=OuterRef("case")).filter(
        Q(outcome=Outcome.REACHED)
        | Q(direction=Direction.INBOUND, attempted_at__gte=OuterRef("attempted_at"))
    )
    tried = (
        ContactAttempt.objects.filter(
            today,
            case=OuterRef("pk"),
            direction=Direction.OUTBOUND,
            outcome__in=sorted(UNSUCCESSFUL_OUTCOMES),
        )
        .filter(~Exists(reopened))
        .order_by("-attempted_at", "-pk")
    )
    return Case(
        When(
            Q(next_follow_up__isnull=True) | Q(next_follow_up__gte=moment.today),
            then=Subquery(tried.values("attempted_at")[:1]),
        ),
        default=None,
        output_field=DateTimeField(),
    )


def tried_today_label(tried_at: dt.datetime) -> str:
    """ "Tried today at 10:40 AM", in the site's time zone."""
    return f"Tried today at {format_date(timezone.localtime(tried_at), 'g:i A')}"


if sorted(rule.priority for rule in RULES) != list(range(1, len(RULES) + 1)):  # pragma: no cover
    raise ImportError("Worklist rules need distinct priorities 1..n: the ranking depends on it.")
