"""Reads for patients and referrals. Each model has one scoping function."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case as DbCase
from django.db.models import (
    CharField,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from config.any_of import among
from navigator.models import (
    FOLLOW_UP_STATUSES,
    CaseStatus,
    FollowUpState,
    ResultFollowUp,
    User,
)
from patients.caregaps.codes import normalise_system
from patients.caregaps.engine import PatientFacts, RecordedScreening
from patients.models import (
    GAP_STATUSES,
    CareGap,
    CareGapStamp,
    Clinic,
    ClinicalResource,
    CodeConcept,
    FhirSource,
    FhirSourceKind,
    Patient,
    PatientSourceLink,
    Referral,
    ReferralUpload,
    RuleVersion,
    ScreeningEvent,
    ScreeningProgram,
    ValueSet,
)


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """Managers and admins: every patient. Navigators: those they have a case for.
    Clinic staff: their own clinic's patients. Anyone else: none. A record merged into
    another is nobody's any more: everything of it is on the record it was merged into."""
    patients = Patient.objects.filter(merged_into__isnull=True)
    if not user.is_authenticated:
        return patients.none()
    if user.sees_all_cases:
        return patients
    if user.works_caseload:
        return patients.filter(navigation_cases__navigator__user=user).distinct()
    if user.is_clinic_staff and user.clinic_id is not None:
        return patients.filter(clinic_id=user.clinic_id)
    return patients.none()


def referrals_visible_to(user: User) -> QuerySet[Referral]:
    referrals = Referral.objects.all()
    if not user.is_authenticated:
        return referrals.none()
    if user.sees_all_cases:
        return referrals
    if user.is_clinic_staff and user.clinic_id is not None:
        return referrals.filter(clinic_id=user.clinic_id)
    if user.works_caseload:
        return referrals.filter(case__navigator__user=user)
    return referrals.none()


def uploads_visible_to(user: User) -> QuerySet[ReferralUpload]:
    """Referral uploads (import jobs): managers and admins every one; clinic staff their
    own clinic's; anyone else none (who may upload: the same roles)."""
    uploads = ReferralUpload.objects.select_related("clinic", "uploaded_by")
    if not user.is_authenticated:
        return uploads.none()
    if user.sees_all_cases:
        return uploads
    if user.is_clinic_staff and user.clinic_id is not None:
        return uploads.filter(clinic_id=user.clinic_id)
    return uploads.none()


def referral_list(*, user: User) -> QuerySet[Referral]:
    return referrals_visible_to(user).select_related("clinic", "patient", "program", "case")


def referral_detail(*, user: User, referral_id: int) -> Referral:
    """One referral this user may see, with what its page shows; DoesNotExist otherwise."""
    return (
        referrals_visible_to(user)
        .select_related(
            "clinic",
            "patient",
            "program",
            "case__navigator__user",
            "created_by",
            "eligibility_overridden_by",
        )
        .get(pk=referral_id)
    )


def patients_with_details(*, user: User) -> QuerySet[Patient]:
    """The patients this user may see, with their clinic, race and ethnicity and phones."""
    return (
        patients_visible_to(user)
        .select_related("clinic")
        .prefetch_related("race_ethnicities", "phones")
    )


def clinics_active() -> QuerySet[Clinic]:
    return Clinic.objects.filter(active=True)


def programs_all() -> QuerySet[ScreeningProgram]:
    return ScreeningProgram.objects.order_by("name")


def program_by_code(code: str) -> ScreeningProgram | None:
    return ScreeningProgram.objects.filter(code=code).first()


def programs_active() -> QuerySet[ScreeningProgram]:
    return ScreeningProgram.objects.filter(active=True).prefetch_related(
        "modalities",
        "result_categories__modalities",
        "follow_up_pathways__category",
        "follow_up_pathways__modality",
        "follow_up_pathways__next_modality",
    )


# --- Codes ---------------------------------------------------------------------------


Code = tuple[str, str]


def concept_codes(keys: Iterable[str] | None = None) -> dict[str, frozenset[Code]]:
    """Each concept's codes (system, code), by concept key.

    A concept's codes are the union of those of its official value sets
    (`value_set_urls`) that are loaded, or, while none of them is, its built-in
    starter codes. Two queries whatever the number of concepts: the concepts
    with their starter codes, and the codes of their loaded value sets.
    """
    concepts = CodeConcept.objects.all()
    if keys is not None:
        concepts = concepts.filter(key__in=list(keys))
    urls_by_concept: dict[str, list[str]] = {}
    starter: dict[str, set[Code]] = defaultdict(set)
    for key, urls, system, code in concepts.values_list(
        "key", "value_set_urls", "codes__system", "codes__code"
    ):
        if key not in urls_by_concept:
            urls_by_concept[key] = (
                [url for url in urls if isinstance(url, str)] if isinstance(urls, list) else []
            )
        if code is not None:
            starter[key].add((normalise_system(system), code))
    loaded = value_set_codes({url for urls in urls_by_concept.values() for url in urls})
    answer: dict[str, frozenset[Code]] = {}
    for key, urls in urls_by_concept.items():
        official = [loaded[url] for url in urls if url in loaded]
        answer[key] = frozenset().union(*official) if official else frozenset(starter[key])
    return answer


def value_set_codes(urls: Iterable[str]) -> dict[str, frozenset[Code]]:
    """The codes of each loaded value set, by URL; URLs not loaded are absent. One query."""
    wanted = set(urls)
    if not wanted:
        return {}
    codes: dict[str, set[Code]] = {}
    for url, system, code in ValueSet.objects.filter(url__in=wanted).values_list(
        "url", "codes__system", "codes__code"
    ):
        found = codes.setdefault(url, set())
        if code is not None:
            found.add((normalise_system(system), code))
    return {url: frozenset(found) for url, found in codes.items()}


# --- Care gaps --------------------------------------------------------------------------


def with_open_loop(gaps: QuerySet[CareGap]) -> QuerySet[CareGap]:
    """Care gaps with their patient's unresolved result in the program, if any:
    `loop_label` ("Diagnostic follow-up needed"), `loop_step` and `loop_due`.

    The care gap is the quality measure's view (the test was done: "up to date"); a
    result still calling for a follow-up means the screening is not complete, and
    every page showing the gap says so beside it."""
    open_loop = ResultFollowUp.objects.filter(
        case__patient=OuterRef("patient"),
        case__program=OuterRef("program"),
        state=FollowUpState.OPEN,
    )
    return gaps.annotate(
        loop_status=Subquery(open_loop.values("case__status")[:1]),
        loop_step=Subquery(open_loop.values("next_step")[:1]),
        loop_due=Subquery(open_loop.values("due_on")[:1]),
        loop_label=DbCase(
            *[
                When(loop_status=status, then=Value(CaseStatus(status).label))
                for status in sorted(FOLLOW_UP_STATUSES)
            ],
            default=Value(""),
            output_field=CharField(),
        ),
    )


def care_gaps_for(patient: Patient) -> QuerySet[CareGap]:
    return with_open_loop(
        CareGap.objects.filter(patient=patient)
        .select_related("program", "last_modality")
        .order_by("program__name")
    )


def fhir_source_by_key(key: str) -> FhirSource | None:
    """The EHR feed with this key, with its clinic (a clinic's staff-entry source is
    not a feed: it is never imported into)."""
    return FhirSource.objects.ehr_feeds().select_related("clinic").filter(key=key).first()


def fhir_feed_missing(key: str) -> str:
    """Why no EHR feed has this key, in words (once `fhir_source_by_key` found none)."""
    key = key[:64]
    if FhirSource.objects.filter(key=key, kind=FhirSourceKind.STAFF_ENTRY).exists():
        return (
            f"No feed “{key}”: that source holds the labs staff enter from outside reports, "
            "not an EHR feed's data; nothing is imported into it."
        )
    return f"No feed “{key}”."


def fhir_feed_keys() -> list[str]:
    """The EHR feeds' keys, for the lists commands print."""
    return list(FhirSource.objects.ehr_feeds().values_list("key", flat=True))


def feed_ids_for(patient: Patient) -> QuerySet[PatientSourceLink]:
    return PatientSourceLink.objects.filter(patient=patient).select_related("source")


_FACT_FIELDS = ("pk", "birth_date", "sex", "smoking_status", "smoking_pack_years", "deceased",
                "clinical_data_changed_at")  # fmt: skip


def patient_facts(patient_ids: list[int]) -> list[PatientFacts]:
    """Facts for a batch of patients: three queries whatever the batch size. The
    patients' `clinical_data_changed_at` first: a write committed after that query
    (its data in the facts or not) changed it, so the stamp no longer matches."""
    # Plain values, not model instances: a batch is thousands of rows and the
    # engine reads only these fields (building models was a fifth of the batch).
    facts = {
        pk: PatientFacts(
            pk=pk,
            birth_date=birth_date,
            sex=sex,
            smoking_status=smoking_status,
            smoking_pack_years=pack_years,
            deceased=deceased,
            data_changed_at=changed,
        )
        for pk, birth_date, sex, smoking_status, pack_years, deceased, changed in (
            Patient.objects.filter(among("pk", patient_ids)).values_list(*_FACT_FIELDS)
        )
    }
    for patient_id, modality_code, performed_on, result, resource_id in (
        ScreeningEvent.objects.filter(among("patient_id", patient_ids))
        .values_list(
            "patient_id", "modality__code", "performed_on", "result", "clinical_resource_id"
        )
        .order_by("performed_on", "pk")
    ):
        facts[patient_id].screenings.append(
            RecordedScreening(modality_code, performed_on, result, resource_id is not None)
        )
    for pk, patient_id, resource in (
        ClinicalResource.objects.filter(among("patient_id", patient_ids))
        .exclude(resource_type="Patient")
        .values_list("pk", "patient_id", "resource")
        .order_by("pk")
    ):
        facts[patient_id].resources.append((pk, resource))
    return list(facts.values())


# The stored fields of a care gap that say what it is (not when it was computed).
CARE_GAP_VALUE_FIELDS = (
    "status",
    "summary",
    "reasons",
    "evidence",
    "last_screening_on",
    "last_modality_id",
    "next_due_on",
    "overdue_since",
    "recheck_on",
    "rule_version",
)


def care_gaps_stored(patient_ids: list[int]) -> dict[tuple[int, int], tuple[int, tuple[Any, ...]]]:
    """These patients' stored gaps by (patient, program): the gap's id and its
    CARE_GAP_VALUE_FIELDS, as plain values. One query."""
    return {
        (patient_id, program_id): (pk, tuple(values))
        for pk, patient_id, program_id, *values in CareGap.objects.filter(
            patient_id__in=patient_ids
        ).values_list("pk", "patient_id", "program_id", *CARE_GAP_VALUE_FIELDS)
    }


def patients_unmerged(patient_ids: list[int]) -> list[int]:
    """These patients but those merged into another record, in the order given, each
    once."""
    merged = set(
        Patient.objects.filter(pk__in=patient_ids, merged_into__isnull=False).values_list(
            "pk", flat=True
        )
    )
    return [pk for pk in dict.fromkeys(patient_ids) if pk not in merged]


# Patients whose gaps may be out of date: never computed (no stamp), or whose
# `clinical_data_changed_at` is any other than the one the gaps' facts saw
# (`CareGapStamp.data_changed_at_seen`, a LEFT JOIN), an earlier one too (writers stamp
# their start time, and commit in any order). IS DISTINCT FROM, spelt out so that no
# NULL falls through. Python's twin: care_gaps_stale.
_SEEN = "care_gap_stamp__data_changed_at_seen"
STALE_GAPS = Q(care_gap_stamp__isnull=True) | Q(clinical_data_changed_at__gt=F(_SEEN))
STALE_GAPS |= Q(clinical_data_changed_at__lt=F(_SEEN))
STALE_GAPS |= Q(clinical_data_changed_at__isnull=True, **{f"{_SEEN}__isnull": False})
STALE_GAPS |= Q(clinical_data_changed_at__isnull=False, **{f"{_SEEN}__isnull": True})


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
        Patient.objects.filter(merged_into__isnull=True)
        .annotate(gap_count=Count("care_gaps"))
        # The stale ones as a subquery (one hash join of patients and stamps, hashed):
        # joined into this grouped query, the planner probed the stamps' key once per
        # patient (300,000 more buffer reads at 100,000 patients, issue 15).
        .filter(
            Q(pk__in=Patient.objects.filter(STALE_GAPS).values("pk"))
            | Q(pk__in=gaps_due)
            | Q(gap_count__lt=len(programs))
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def care_gaps_stale(patient: Patient) -> bool:
    """Whether the patient's gaps may be out of date: never computed (no stamp), or
    `clinical_data_changed_at` other than the stamp saw. The same test as STALE_GAPS.
    Reads `patient.care_gap_stamp`: select_related it to spare a query."""
    try:
        stamp = patient.care_gap_stamp
    except CareGapStamp.DoesNotExist:
        return True
    # None against None is equal, None against a time is not: IS DISTINCT FROM.
    return patient.clinical_data_changed_at != stamp.data_changed_at_seen


# The care-gap list's filter for every status that is a gap (GAP_STATUSES).
ANY_GAP = "gap"


def care_gap_list(*, user: User, program: str = "", status: str = "") -> QuerySet[CareGap]:
    """Care gaps of the patients this user may see, most overdue first."""
    gaps = CareGap.objects.filter(patient__in=patients_visible_to(user))
    if program:
        gaps = gaps.filter(program__code=program)
    if status == ANY_GAP:
        gaps = gaps.filter(status__in=GAP_STATUSES)
    elif status:
        gaps = gaps.filter(status=status)
    return with_open_loop(
        gaps.select_related("patient__clinic", "program", "last_modality").order_by(
            F("overdue_since").asc(nulls_last=True), "next_due_on", "patient__family_name", "pk"
        )
    )


# --- Program rules -----------------------------------------------------------------------


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
                "role": m.role,
                "active": m.active,
            }
            for m in program.modalities.select_related("concept").order_by("code")
        ],
        # What results mean and what each calls for next (versioned with the rest).
        "result_categories": [
            {
                "code": c.code,
                "name": c.name,
                "meaning": c.meaning,
                "tests": sorted(m.code for m in c.modalities.all()),
                "active": c.active,
            }
            for c in program.result_categories.prefetch_related("modalities").order_by("code")
        ],
        "follow_up_pathways": [
            {
                "id": p.pk,
                "category": p.category.code,
                "test": p.modality.code if p.modality else None,
                "kind": p.kind,
                "next_step": p.next_step,
                "next_test": p.next_modality.code,
                "target_days": p.target_days,
                "limit_days": p.limit_days,
                "active": p.active,
            }
            for p in program.follow_up_pathways.select_related(
                "category", "modality", "next_modality"
            ).order_by("pk")
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
        # A screening programme's snapshot is as it always was (its stored versions
        # compare equal); a control programme's adds its kind and its own rules.
        **(
            {"kind": program.kind, "control": program.control_rules()} if program.is_control else {}
        ),
    }


@dataclass
class ProgramRules:
    program: ScreeningProgram
    rules: dict[str, Any]
    modality_ids: dict[str, int]


def program_rules_list() -> list[ProgramRules]:
    programs = (
        ScreeningProgram.objects.select_related("condition_concept")
        .prefetch_related("modalities__concept", "exclusions__all_of", "lab_concepts")
        .order_by("pk")
    )
    return [
        ProgramRules(
            program=program,
            rules=program_rules_snapshot(program),
            modality_ids={m.code: m.pk for m in program.modalities.all()},
        )
        for program in programs
    ]


def rule_versions_for(program: ScreeningProgram) -> QuerySet[RuleVersion]:
    return (
        RuleVersion.objects.filter(program=program).select_related("changed_by").order_by("-number")
    )


def rule_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What a rule version changed, in words: "FIT interval_months: 12 → 24"."""
    groups = {
        "modalities": ("modality", "code"),
        "exclusions": ("exclusion", "code"),
        "result_categories": ("result category", "code"),
        "follow_up_pathways": ("follow-up pathway", "id"),
    }
    # A control programme's own rules in words too ("control target: 8 → 7").
    before, after = ({**r, **{f"control {k}": v for k, v in r.get("control", {}).items()}}
                     for r in (before, after))  # fmt: skip
    changes = [
        f"{name}: {before.get(name)} → {after.get(name)}"
        for name in sorted(set(before) | set(after))
        if name not in groups and name != "control" and before.get(name) != after.get(name)
    ]
    for group, (noun, key) in groups.items():
        old = {item[key]: item for item in before.get(group, [])}
        new = {item[key]: item for item in after.get(group, [])}
        for code in sorted(set(old) | set(new), key=str):
            item = new.get(code) or old[code]
            name = item.get("name") or _pathway_words(item) or code
            if code not in old:
                changes.append(f"{noun} {name} added")
            elif code not in new:
                changes.append(f"{noun} {name} removed")
            else:
                changes += [
                    f"{name} {field}: {old[code].get(field)} → {value}"
                    for field, value in new[code].items()
                    if old[code].get(field) != value
                ]
    return changes


def _pathway_words(item: dict[str, Any]) -> str:
    if "next_step" not in item:
        return ""
    test = item.get("test") or "any test"
    return f"{item['category']} ({test}) → {item['next_step']}"
