"""The worklist's API serializers: a row (reasons, summary, the navigator), its plain-values
writer `worklist_row_data` (the same JSON as `WorklistRowSerializer`, without a
serializer per row: an agreement test holds them equal; a page's rows:
`worklist_page_data`), the search body and a page. Split from `serializers.py`, whose
case serializers a row builds on."""

from __future__ import annotations

import datetime as dt
from typing import cast

from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from navigator.api.serializers import CaseListSerializer, NavigatorBriefSerializer
from navigator.models import NavigationCase, NavigatorProfile
from navigator.worklist.query import SORTS
from navigator.worklist.rows import status_label
from patients.languages import language_name


class WorklistReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    priority = serializers.IntegerField()
    label = serializers.CharField()


class WorklistRowSerializer(CaseListSerializer):
    """A worklist row: why the case is there (most urgent reason first), whom it is
    covered for, and the next step. Reasons come from navigator.worklist."""

    priority = serializers.IntegerField(source="wl_priority")
    reasons = WorklistReasonSerializer(many=True)
    summary = serializers.CharField()
    covering_for = NavigatorBriefSerializer(allow_null=True)
    next_channel = serializers.CharField()
    next_appointment_at = serializers.DateTimeField(allow_null=True)
    interpreter_arranged = serializers.BooleanField(
        help_text="A confirmed interpreter for a call or appointment still ahead."
    )
    tried_today_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the case was last tried today without reaching the patient (it then "
        "ranks below every case not tried today); null otherwise.",
    )
    best_phone = serializers.SerializerMethodField(
        help_text="The number to call (E.164): the patient's first number not marked bad."
    )
    best_contact_times = serializers.CharField(
        source="patient.best_contact_times", help_text="When the patient is easiest to reach."
    )

    class Meta(CaseListSerializer.Meta):
        fields = [
            *CaseListSerializer.Meta.fields,
            "priority", "reasons", "summary", "covering_for", "next_channel",
            "next_appointment_at", "interpreter_arranged", "tried_today_at", "best_phone",
            "best_contact_times",
        ]  # fmt: skip

    def get_best_phone(self, case) -> str | None:
        return case.phone_to_call.e164 if case.phone_to_call else None


# The worklist's JSON row without a serializer per row: a 50-row page through
# WorklistRowSerializer cost a fifth of the request's CPU. Same fields, same order,
# same formats (DRF's own date and time fields format the values); the serializer
# above stays the contract (the schema) and a test holds the two equal.
_DATE = serializers.DateField()
_DATETIME = serializers.DateTimeField()


def _date(value: dt.date | None) -> str | None:
    return None if value is None else _DATE.to_representation(value)


def _iso_8601(output_format: object) -> bool:
    return isinstance(output_format, str) and output_format.lower() == ISO_8601


def _datetime(value: dt.datetime | None, tz: dt.tzinfo | None) -> str | None:
    """_DATETIME.to_representation(value); for an aware datetime in ISO 8601 (the
    setting's default) written here with `tz`, the current time zone looked up once
    a row (DRF looks it up for every value: a third of a row's cost)."""
    if value is None:
        return None
    if (
        tz is not None
        and type(value) is dt.datetime
        and value.utcoffset() is not None
        and _iso_8601(getattr(_DATETIME, "format", api_settings.DATETIME_FORMAT))
    ):
        try:
            text = value.astimezone(tz).isoformat()
        except OverflowError:  # DRF's error, from DRF
            return _DATETIME.to_representation(value)
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return _DATETIME.to_representation(value)


def _navigator_brief(navigator: NavigatorProfile | None) -> dict[str, object] | None:
    return None if navigator is None else {"id": navigator.pk, "name": str(navigator)}


def worklist_page_data(cases: list[NavigationCase]) -> list[dict[str, object]]:
    """`worklist_row_data` of each row of a page, the current time zone read once for
    the page (a context-local look-up: about 5 us, 50 a page)."""
    tz = _DATETIME.default_timezone()
    return [worklist_row_data(case, tz=tz) for case in cases]


_LOOK_UP = object()


def worklist_row_data(case: NavigationCase, *, tz: object = _LOOK_UP) -> dict[str, object]:
    """What WorklistRowSerializer(case).data says, for a row of `worklist_rows`; `tz`
    the current time zone (DRF's `default_timezone()`), looked up when not given."""
    patient = case.patient
    a = case.__dict__  # the query's annotations and the row's words (navigator.worklist)
    zone = _DATETIME.default_timezone() if tz is _LOOK_UP else cast("dt.tzinfo | None", tz)
    return {
        "id": case.pk,
        "patient": {
            "id": patient.pk,
            "mrn": patient.mrn,
            "name": patient.full_name,
            "birth_date": _date(patient.birth_date),
            "preferred_language": patient.preferred_language,
            "language_name": language_name(patient.preferred_language),
            "interpreter_needed": patient.interpreter_needed,
        },
        "program": {"code": case.program.code, "name": case.program.name},
        "navigator": _navigator_brief(case.navigator),
        "status": case.status,
        "status_label": status_label(case.status),
        "needs_interpreter": case.needs_interpreter,
        "next_follow_up": _date(case.next_follow_up),
        "follow_up_overdue": bool(a["follow_up_is_overdue"]),
        "open_barrier_count": int(a["open_barrier_count"]),
        "last_attempt_at": _datetime(a["last_attempt_at"], zone),
        "has_pending_reminder": bool(a["has_pending_reminder"]),
        "opened_at": _datetime(case.opened_at, zone),
        "completed_at": _datetime(case.completed_at, zone),
        "closed_at": _datetime(case.closed_at, zone),
        "priority": int(a["wl_priority"]),
        "reasons": [
            {"code": r.code, "priority": r.priority, "label": r.label} for r in a["reasons"]
        ],
        "summary": a["summary"],
        "covering_for": _navigator_brief(a["covering_for"]),
        "next_channel": case.next_channel,
        "next_appointment_at": _datetime(a["next_appointment_at"], zone),
        "interpreter_arranged": bool(a["interpreter_arranged"]),
        "tried_today_at": _datetime(a["tried_today_at"], zone),
        "best_phone": a["phone_to_call"].e164 if a["phone_to_call"] else None,
        "best_contact_times": patient.best_contact_times,
    }


class WorklistSearchSerializer(serializers.Serializer):
    """A worklist search, in the body (POST /api/worklist/search/): the text and the
    filters of GET /api/worklist/. The worklist's own form then checks each value."""

    q = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text="Name, MRN, phone, or birth date (YYYY-MM-DD or MM/DD/YYYY); at most 100 "
        "characters.",
    )
    program = serializers.CharField(required=False, allow_blank=True, help_text="Program code")
    status = serializers.CharField(
        required=False, allow_blank=True, help_text="An open case status"
    )
    language = serializers.CharField(
        required=False, allow_blank=True, help_text="ISO 639 code of the patient's language"
    )
    clinic = serializers.CharField(required=False, allow_blank=True, help_text="Clinic code")
    barrier = serializers.CharField(
        required=False, allow_blank=True, help_text="Barrier type code (open barriers)"
    )
    overdue = serializers.BooleanField(required=False, help_text="Overdue follow-ups only")
    sort = serializers.ChoiceField(
        choices=list(SORTS), required=False, help_text="Default: priority"
    )
    navigator = serializers.IntegerField(
        required=False, allow_null=True, help_text="Whose worklist (managers; covering)"
    )


class WorklistPageSerializer(serializers.Serializer):
    """A page of the worklist's search: as GET /api/worklist/ answers."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = WorklistRowSerializer(many=True)
