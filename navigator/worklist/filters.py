"""The worklist's filters and its one search box, read as what was typed looks
like (a date of birth, a phone number, a name or an MRN). The form that checks
them is `navigator.forms.lists.WorklistFilterForm`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet

from navigator.models import BarrierStatus, BarrierType, CaseBarrier, NavigationCase
from navigator.worklist.query import DEFAULT_SORT
from navigator.worklist.rules import Moment
from patients.models import Clinic, Patient, PatientPhone, ScreeningProgram
from patients.mrn import mrn_key, mrn_normalise

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
        # The MRN however it was typed, records stored before normalisation included.
        condition = Q(
            Exists(
                Patient.objects.alias(key=mrn_key()).filter(
                    pk=OuterRef("patient"), key=mrn_normalise(self.text)
                )
            )
        )
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
    """The worklist's filters, checked (see navigator.forms.lists.WorklistFilterForm)."""

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
