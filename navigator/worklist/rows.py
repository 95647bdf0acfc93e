"""What each fetched worklist row carries: its reasons, its one-line summary,
whom the case is covered for, the patient's age, the next step in words, the
"tried today" mark, the number to call and, on a control case's row, the offer to
enrol the patient in the next group series (no queries)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from phonenumber_field.phonenumber import PhoneNumber, to_python

from navigator.models import CaseStatus, NavigationCase
from navigator.worklist.rule_base import days_of_one_page
from navigator.worklist.rules import RULES, Moment, Reason, day_label, tried_today_label
from outreach.models import Channel

# The next step in words: "follow up 30 Nov by text".
NEXT_CHANNEL_WORDS: dict[str, str] = {
    Channel.PHONE: "phone",
    Channel.SMS: "text",
    Channel.EMAIL: "email",
    Channel.LETTER: "letter",
    Channel.IN_PERSON: "visit",
    Channel.PORTAL: "patient portal",
}


# A status's label (lazy: read in the active language when shown).
_STATUS_LABELS = dict(CaseStatus.choices)


def status_label(status: str) -> str:
    """What `case.get_status_display()` says (Model._get_FIELD_display: the choice's
    label, else the value itself) without building the field's choices per call."""
    return str(_STATUS_LABELS.get(status, status))


@dataclass(frozen=True)
class Phone:
    """A number to call: `e164` for the tel: link, `national` to read."""

    e164: str
    national: str


def phone(number: PhoneNumber | str | None) -> Phone | None:
    """The annotated best number (a PhoneNumber, as PatientPhone's field reads it),
    ready to show: national for a US number, international otherwise."""
    if not number:
        return None
    parsed = number if isinstance(number, PhoneNumber) else to_python(number)
    if not isinstance(parsed, PhoneNumber) or not parsed.is_valid():
        return Phone(e164=str(number), national=str(number))
    national = parsed.as_national if parsed.country_code == 1 else parsed.as_international
    return Phone(e164=parsed.as_e164, national=national)


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


def rows(
    cases: Iterable[NavigationCase], *, moment: Moment, covering: Callable[[NavigationCase], bool]
) -> list[NavigationCase]:
    """Give each annotated case its reasons, its one-line summary and, where the
    person working the list covers it for a colleague, whom for (no queries)."""
    result = list(cases)
    with days_of_one_page():  # the reasons' days: language and time zone read once
        for case in result:
            case.reasons = reasons(case, moment)  # type: ignore[attr-defined]
            case.summary = (  # type: ignore[attr-defined]
                case.reasons[0].label if case.reasons else quiet_label(case, moment)  # type: ignore[attr-defined]
            )
            case.covering_for = case.navigator if covering(case) else None  # type: ignore[attr-defined]
            case.patient_age = case.patient.age_on(moment.today)  # type: ignore[attr-defined]
            case.next_channel_label = NEXT_CHANNEL_WORDS.get(case.next_channel, "")  # type: ignore[attr-defined]
            tried_at = case.tried_today_at  # type: ignore[attr-defined]
            case.tried_today_label = tried_today_label(tried_at) if tried_at else ""  # type: ignore[attr-defined]
            case.phone_to_call = phone(case.best_phone)  # type: ignore[attr-defined]
            case.enrol_series_label = enrol_series_label(case)  # type: ignore[attr-defined]
    return result


def enrol_series_label(case: NavigationCase) -> str:
    """ "Enrol in the next Spanish-language series", on a control case's row whose
    programme runs group series (in the patient's language); else nothing."""
    if not (case.program.is_control and case.program_has_series):  # type: ignore[attr-defined]
        return ""
    return f"Enrol in the next {case.patient.language_name}-language series"
