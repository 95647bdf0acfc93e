"""Writes for patients and referrals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from phonenumber_field.phonenumber import to_python as to_phone_number

from navigator.cases import case_lock, case_transition, event_record
from navigator.models import OPEN_STATUSES, CaseEventKind, CaseStatus, NavigationCase, User
from navigator.services.case_opening import case_open
from patients import selectors
from patients.caregaps import GapResult, PatientFacts, RecordedScreening, evaluate_care_gap
from patients.models import (
    CareGap,
    CareGapStatus,
    Clinic,
    ClinicalResource,
    Patient,
    PatientPhone,
    PatientRaceEthnicity,
    PhoneType,
    RaceEthnicity,
    Referral,
    RuleVersion,
    ScreeningEvent,
    ScreeningModality,
    ScreeningProgram,
    ScreeningResult,
)

EXCLUSIVE_RACE_ANSWERS = {RaceEthnicity.DECLINED, RaceEthnicity.UNKNOWN}


@dataclass
class PhoneInput:
    number: str
    kind: str = PhoneType.MOBILE


@dataclass
class PatientInput:
    mrn: str
    given_name: str
    family_name: str
    birth_date: dt.date
    sex: str
    preferred_language: str = "en"
    english_proficiency: str = "unknown"
    interpreter_needed: bool = False
    race_ethnicity: list[str] = field(default_factory=list)
    phones: list[PhoneInput] = field(default_factory=list)
    sms_consent: bool = False
    email: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    time_zone: str = ""
    insurance_type: str = "unknown"
    smoking_status: str = "unknown"
    smoking_pack_years: int | None = None


def _normalise_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def _validate_race_ethnicity(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in RaceEthnicity.values]
    if unknown:
        raise ValidationError(
            {"race_ethnicity": f"Unknown categories: {', '.join(map(str, unknown))}."}
        )
    chosen = list(dict.fromkeys(values))
    if len(chosen) > 1 and EXCLUSIVE_RACE_ANSWERS & set(chosen):
        raise ValidationError(
            {"race_ethnicity": "“Declined” and “unknown” cannot be combined with a category."}
        )
    return chosen


def _validate_phones(phones: list[PhoneInput]) -> list[tuple[str, str]]:
    cleaned: list[tuple[str, str]] = []
    for index, phone in enumerate(phones):
        number = to_phone_number(phone.number)
        if number is None or not number.is_valid():
            raise ValidationError(
                {"phones": f"Phone {index + 1}: “{phone.number}” is not a valid phone number."}
            )
        if phone.kind not in PhoneType.values:
            raise ValidationError(
                {"phones": f"Phone {index + 1}: “{phone.kind}” is not a phone type."}
            )
        e164 = number.as_e164
        if e164 not in {n for n, _ in cleaned}:
            cleaned.append((e164, phone.kind))
    return cleaned


def patient_find_or_create(*, clinic: Clinic, data: PatientInput) -> tuple[Patient, bool]:
    """The clinic's patient with this MRN, or a new one: (patient, created).

    The same MRN at the same clinic is the same patient, never a duplicate,
    but only if name and birth date agree: an MRN that points at somebody
    else is refused rather than merged.
    """
    race_ethnicity = _validate_race_ethnicity(data.race_ethnicity)
    phones = _validate_phones(data.phones)
    mrn = data.mrn.strip()
    if not mrn:
        raise ValidationError({"mrn": "An MRN is required."})

    existing = Patient.objects.select_for_update().filter(clinic=clinic, mrn=mrn).first()
    if existing is not None:
        if (
            _normalise_name(existing.given_name) != _normalise_name(data.given_name)
            or _normalise_name(existing.family_name) != _normalise_name(data.family_name)
            or existing.birth_date != data.birth_date
        ):
            raise ValidationError(
                {
                    "mrn": (
                        f"MRN {mrn} at {clinic} belongs to a patient with a different name "
                        "or birth date. Check the MRN, or correct the patient's record first."
                    )
                },
                code="mrn_conflict",
            )
        known = set(existing.phones.values_list("number", flat=True))
        next_rank = existing.phones.count()
        for number, kind in phones:
            if number not in known:
                PatientPhone.objects.create(
                    patient=existing, number=number, kind=kind, rank=next_rank
                )
                next_rank += 1
        return existing, False

    patient = Patient(
        clinic=clinic,
        mrn=mrn,
        given_name=data.given_name.strip(),
        family_name=data.family_name.strip(),
        birth_date=data.birth_date,
        sex=data.sex,
        preferred_language=data.preferred_language.strip().lower(),
        english_proficiency=data.english_proficiency,
        interpreter_needed=data.interpreter_needed,
        sms_consent=data.sms_consent,
        sms_consent_at=timezone.now() if data.sms_consent else None,
        email=data.email,
        address_line1=data.address_line1,
        address_line2=data.address_line2,
        city=data.city,
        state=data.state,
        postal_code=data.postal_code,
        insurance_type=data.insurance_type,
        smoking_status=data.smoking_status,
        smoking_pack_years=data.smoking_pack_years,
    )
    if data.time_zone:
        patient.time_zone = data.time_zone
    # full_clean checks choices, the language code, the time zone and the birth date.
    patient.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as error:
        # Another request created this MRN a moment ago.
        raise ValidationError(
            {"mrn": f"MRN {mrn} was just registered at {clinic}; submit again to refer them."}
        ) from error
    PatientRaceEthnicity.objects.bulk_create(
        [PatientRaceEthnicity(patient=patient, category=c) for c in race_ethnicity]
    )
    PatientPhone.objects.bulk_create(
        [
            PatientPhone(patient=patient, number=number, kind=kind, rank=rank)
            for rank, (number, kind) in enumerate(phones)
        ]
    )
    return patient, True


def referral_create(
    *,
    clinic: Clinic,
    program: ScreeningProgram,
    patient_data: PatientInput,
    referring_clinician: str,
    actor: User,
    reason: str = "",
) -> Referral:
    """A clinic refers a patient: match or create the patient, open or join a case."""
    if actor.is_clinic_staff and actor.clinic_id != clinic.pk:
        raise ValidationError({"clinic": "You can only refer patients to your own clinic."})
    if not program.active:
        raise ValidationError({"program": f"The {program} program is not accepting referrals."})
    if not referring_clinician.strip():
        raise ValidationError({"referring_clinician": "Name the referring clinician."})

    with transaction.atomic():
        patient, _created = patient_find_or_create(clinic=clinic, data=patient_data)
        problems = program.eligibility_problems(patient, timezone.localdate())
        if problems:
            raise ValidationError({"program": problems}, code="ineligible")
        case, case_created = case_open(
            patient=patient, program=program, actor=actor, source=f"referral from {clinic}"
        )
        referral = Referral.objects.create(
            clinic=clinic,
            patient=patient,
            program=program,
            referring_clinician=referring_clinician.strip(),
            reason=reason,
            case=case,
            created_by=actor,
        )
        event_record(
            case=case,
            kind=CaseEventKind.REFERRED,
            actor=actor,
            summary=f"Referred by {referral.referring_clinician} ({clinic})"
            + ("" if case_created else "; joined the case already open"),
            data={"referral": referral.pk, "new_case": case_created},
        )
        return referral


# --- Program rules --------------------------------------------------------------------

RULE_FIELDS = ("min_age", "max_age", "sex", "min_pack_years", "due_soon_days", "active")


def program_rules_snapshot(program: ScreeningProgram) -> dict[str, Any]:
    """The rules the care-gap engine applies for a program, as plain data."""
    return {
        "min_age": program.min_age,
        "max_age": program.max_age,
        "sex": program.sex,
        "min_pack_years": program.min_pack_years,
        "due_soon_days": program.due_soon_days,
        "active": program.active,
        "modalities": [
            {
                "code": m.code,
                "name": m.name,
                "interval_months": m.interval_months,
                "min_age": m.min_age,
                "concept": m.concept.key if m.concept is not None else None,
                "active": m.active,
            }
            for m in program.modalities.select_related("concept").order_by("code")
        ],
        "exclusions": [
            {
                "code": e.code,
                "name": e.name,
                "all_of": sorted(c.key for c in e.all_of.all()),
                "lookback_months": e.lookback_months,
                "min_age": e.min_age,
                "active": e.active,
            }
            for e in program.exclusions.prefetch_related("all_of").order_by("code")
        ],
    }


@dataclass
class ModalityRuleChange:
    code: str
    interval_months: int | None = None
    min_age: int | None = None
    active: bool | None = None


@dataclass
class ExclusionRuleChange:
    code: str
    lookback_months: int | None = None
    clear_lookback: bool = False
    min_age: int | None = None
    active: bool | None = None


def program_rules_update(
    *,
    program: ScreeningProgram,
    actor: User,
    summary: str,
    fields: dict[str, Any] | None = None,
    modalities: list[ModalityRuleChange] | None = None,
    exclusions: list[ExclusionRuleChange] | None = None,
) -> RuleVersion | None:
    """Change a program's rules; record who, when, before and after as a new version.

    Returns None (and writes nothing) when nothing changes. Every care gap
    computed under an older version is recomputed by the next refresh.
    """
    fields = fields or {}
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({"fields": f"Not a rule: {', '.join(sorted(unknown))}."})
    if not summary.strip():
        raise ValidationError({"summary": "Say what changed and why."})
    with transaction.atomic():
        program = ScreeningProgram.objects.select_for_update().get(pk=program.pk)
        before = program_rules_snapshot(program)
        for name, value in fields.items():
            setattr(program, name, value)
        program.full_clean(validate_unique=False)
        program_modalities = {m.code: m for m in program.modalities.all()}
        for change in modalities or []:
            modality = program_modalities.get(change.code)
            if modality is None:
                raise ValidationError({"modalities": f"{program} has no modality “{change.code}”."})
            for name in ("interval_months", "min_age", "active"):
                value = getattr(change, name)
                if value is not None:
                    setattr(modality, name, value)
            modality.full_clean(validate_unique=False)
            modality.save()
        program_exclusions = {e.code: e for e in program.exclusions.all()}
        for exclusion_change in exclusions or []:
            exclusion = program_exclusions.get(exclusion_change.code)
            if exclusion is None:
                raise ValidationError(
                    {"exclusions": f"{program} has no exclusion “{exclusion_change.code}”."}
                )
            if exclusion_change.clear_lookback:
                exclusion.lookback_months = None
            elif exclusion_change.lookback_months is not None:
                exclusion.lookback_months = exclusion_change.lookback_months
            if exclusion_change.min_age is not None:
                exclusion.min_age = exclusion_change.min_age
            if exclusion_change.active is not None:
                exclusion.active = exclusion_change.active
            exclusion.full_clean(validate_unique=False)
            exclusion.save()
        program.save()
        version = program_rules_record_change(
            program=program, actor=actor, before=before, summary=summary
        )
        if version is None:
            transaction.set_rollback(True)
        return version


def program_rules_record_change(
    *, program: ScreeningProgram, actor: User | None, before: dict[str, Any], summary: str
) -> RuleVersion | None:
    """Record a new rules version if the rules now differ from `before` (after an admin edit)."""
    with transaction.atomic():
        program = ScreeningProgram.objects.select_for_update().get(pk=program.pk)
        after = program_rules_snapshot(program)
        if after == before:
            return None
        program.rule_version += 1
        program.save(update_fields=["rule_version"])
        return RuleVersion.objects.create(
            program=program,
            number=program.rule_version,
            changed_by=actor,
            summary=summary.strip()[:300],
            before=before,
            after=after,
        )


# --- Care gaps ----------------------------------------------------------------------------


@dataclass
class ProgramRules:
    program: ScreeningProgram
    rules: dict[str, Any]
    modality_ids: dict[str, int]


def _program_rules() -> list[ProgramRules]:
    programs = ScreeningProgram.objects.prefetch_related(
        "modalities__concept", "exclusions__all_of"
    ).order_by("pk")
    return [
        ProgramRules(
            program=program,
            rules=program_rules_snapshot(program),
            modality_ids={m.code: m.pk for m in program.modalities.all()},
        )
        for program in programs
    ]


def _concept_codes() -> dict[str, frozenset[tuple[str, str]]]:
    return selectors.concept_codes()


def _patient_facts(patient_ids: list[int]) -> list[PatientFacts]:
    """Facts for a batch of patients: three queries whatever the batch size."""
    facts = {
        p.pk: PatientFacts(
            pk=p.pk,
            birth_date=p.birth_date,
            sex=p.sex,
            smoking_status=p.smoking_status,
            smoking_pack_years=p.smoking_pack_years,
            deceased=p.deceased,
        )
        for p in Patient.objects.filter(pk__in=patient_ids).only(
            "pk", "birth_date", "sex", "smoking_status", "smoking_pack_years", "deceased"
        )
    }
    for patient_id, modality_code, performed_on, result, resource_id in (
        ScreeningEvent.objects.filter(patient_id__in=patient_ids)
        .values_list(
            "patient_id", "modality__code", "performed_on", "result", "clinical_resource_id"
        )
        .order_by("performed_on", "pk")
    ):
        facts[patient_id].screenings.append(
            RecordedScreening(modality_code, performed_on, result, resource_id is not None)
        )
    for pk, patient_id, resource in (
        ClinicalResource.objects.filter(patient_id__in=patient_ids)
        .exclude(resource_type="Patient")
        .values_list("pk", "patient_id", "resource")
        .order_by("pk")
    ):
        facts[patient_id].resources.append((pk, resource))
    return list(facts.values())


@dataclass
class CareGapChange:
    patient_id: int
    program_id: int
    old_status: str | None
    gap: CareGap
    result: GapResult


def care_gaps_recompute(
    *, patient_ids: list[int], as_of: dt.date, programs: list[ProgramRules] | None = None
) -> list[CareGapChange]:
    """Compute every program's gap for a batch of patients and store it.

    A fixed number of queries per batch: facts (3), existing gaps (1), the
    upsert (1) and the patients' timestamps (1).
    """
    programs = programs if programs is not None else _program_rules()
    concept_codes = _concept_codes()
    now = timezone.now()
    facts_list = _patient_facts(patient_ids)
    previous = {
        (gap.patient_id, gap.program_id): gap.status
        for gap in CareGap.objects.filter(patient_id__in=patient_ids).only(
            "patient_id", "program_id", "status"
        )
    }
    changes: list[CareGapChange] = []
    for facts in facts_list:
        for entry in programs:
            result = evaluate_care_gap(
                facts=facts,
                program_name=entry.program.name,
                rules=entry.rules,
                concept_codes=concept_codes,
                as_of=as_of,
            )
            gap = CareGap(
                patient_id=facts.pk,
                program_id=entry.program.pk,
                status=result.status,
                as_of=as_of,
                summary=result.summary[:300],
                reasons=result.reasons,
                evidence=result.evidence,
                last_screening_on=result.last_screening_on,
                last_modality_id=entry.modality_ids.get(result.last_modality_code or ""),
                next_due_on=result.next_due_on,
                overdue_since=result.overdue_since,
                recheck_on=result.recheck_on,
                rule_version=entry.program.rule_version,
                computed_at=now,
            )
            changes.append(
                CareGapChange(
                    facts.pk,
                    entry.program.pk,
                    previous.get((facts.pk, entry.program.pk)),
                    gap,
                    result,
                )
            )
    CareGap.objects.bulk_create(
        [change.gap for change in changes],
        update_conflicts=True,
        unique_fields=["patient", "program"],
        update_fields=[
            "status",
            "as_of",
            "summary",
            "reasons",
            "evidence",
            "last_screening_on",
            "last_modality",
            "next_due_on",
            "overdue_since",
            "recheck_on",
            "rule_version",
            "computed_at",
        ],  # fmt: skip
        # One statement for a batch of 1,000 patients (4 programs × 14 columns
        # stays under PostgreSQL's 65,535 parameters).
        batch_size=4000,
    )
    Patient.objects.filter(pk__in=[f.pk for f in facts_list]).update(care_gaps_computed_at=now)
    return changes


def care_gap_patients_due(*, as_of: dt.date) -> list[int]:
    """Patients whose gaps may have changed: new data, a recheck day, changed rules.

    Also those missing a program's gap (never computed, or a program added since).
    """
    stale_rules = Q()
    programs = list(ScreeningProgram.objects.values_list("pk", "rule_version"))
    for program_id, version in programs:
        stale_rules |= Q(program_id=program_id) & ~Q(rule_version=version)
    gaps_due = CareGap.objects.filter(Q(recheck_on__lte=as_of) | stale_rules).values("patient_id")
    return list(
        Patient.objects.annotate(gap_count=Count("care_gaps"))
        .filter(
            Q(care_gaps_computed_at__isnull=True)
            | Q(clinical_data_changed_at__gt=F("care_gaps_computed_at"))
            | Q(pk__in=gaps_due)
            | Q(gap_count__lt=len(programs))
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass
class RefreshResult:
    patients: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


def care_gaps_refresh(
    *, as_of: dt.date, patient_ids: list[int] | None = None, batch_size: int = 1000
) -> RefreshResult:
    """Recompute what may have changed; open and close cases from it.

    The nightly run looks at every patient due (`care_gap_patients_due`); an
    import names the patients it touched, so that their pages are current at once.
    """
    programs = _program_rules()
    result = RefreshResult()
    if patient_ids is None:
        patient_ids = care_gap_patients_due(as_of=as_of)
    for start in range(0, len(patient_ids), batch_size):
        batch = patient_ids[start : start + batch_size]
        with transaction.atomic():
            changes = care_gaps_recompute(patient_ids=batch, as_of=as_of, programs=programs)
            opened, closed = _cases_follow_gaps(changes, programs)
        result.patients += len(batch)
        result.cases_opened += opened
        result.cases_closed += closed
        for change in changes:
            result.statuses[change.gap.status] = result.statuses.get(change.gap.status, 0) + 1
    return result


def _cases_follow_gaps(
    changes: list[CareGapChange], programs: list[ProgramRules]
) -> tuple[int, int]:
    """Open a case for each newly overdue patient; close one the EHR shows screened."""
    program_by_id = {entry.program.pk: entry.program for entry in programs}
    opened = closed = 0
    newly_overdue = [
        c for c in changes if c.gap.status == CareGapStatus.OVERDUE and c.old_status != "overdue"
    ]
    screened = [c for c in changes if c.result.last_screening_resource_pk is not None and (
        c.gap.status in {CareGapStatus.UP_TO_DATE, CareGapStatus.DUE_SOON}
    )]  # fmt: skip
    open_cases = {
        (case.patient_id, case.program_id): case
        for case in NavigationCase.objects.filter(
            patient_id__in={c.patient_id for c in newly_overdue + screened},
            status__in=OPEN_STATUSES,
        )
    }
    to_open = [
        change
        for change in newly_overdue
        if program_by_id[change.program_id].active
        and program_by_id[change.program_id].open_cases_automatically
        and (change.patient_id, change.program_id) not in open_cases
    ]
    patients = Patient.objects.in_bulk({change.patient_id for change in to_open})
    for change in to_open:
        program = program_by_id[change.program_id]
        patient = patients[change.patient_id]
        case_open(
            patient=patient,
            program=program,
            actor=None,
            source=f"care gap: {change.gap.summary}",
        )
        opened += 1
    for change in screened:
        case = open_cases.get((change.patient_id, change.program_id))
        if case is None or case.screenings.exists():
            continue
        _case_close_screened_by_ehr(case=case, change=change)
        closed += 1
    return opened, closed


def _case_close_screened_by_ehr(*, case: NavigationCase, change: CareGapChange) -> None:
    """Close the loop from data: record the EHR's test on the case, then close it."""
    result = change.result
    if result.last_screening_on is None:
        return
    modality = ScreeningModality.objects.get(
        program_id=case.program_id, code=result.last_modality_code
    )
    with transaction.atomic():
        case = case_lock(case)
        if not case.is_open:
            return
        event = ScreeningEvent.objects.create(
            patient_id=case.patient_id,
            modality=modality,
            performed_on=result.last_screening_on,
            result=ScreeningResult.NOT_REPORTED,
            case=case,
            clinical_resource_id=result.last_screening_resource_pk,
        )
        event_record(
            case=case,
            kind=CaseEventKind.SCREENING_RECORDED,
            actor=None,
            summary=f"{modality} on {event.performed_on:%Y-%m-%d}, reported by the EHR",
            data={"screening": event.pk, "modality": modality.code, "source": "ehr"},
        )
        if case.status != CaseStatus.COMPLETED:
            case_transition(
                case=case, to_status=CaseStatus.COMPLETED, actor=None, note="reported by the EHR"
            )
        case_transition(case=case, to_status=CaseStatus.CLOSED, actor=None, note="screened")
