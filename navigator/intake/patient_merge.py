"""Merging two records of one patient: everything of the duplicate moves onto the
survivor, both records' cases say so on their timelines, and nothing is deleted.

It stands on the case kernel (the cases' timelines) and on the care-gap refresh
(the survivor's gaps recomputed from both records' data, and its cases opened or
closed from them), so it is orchestration, beside the other intake.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from navigator.cases import event_record
from navigator.intake.care_gaps import care_gaps_refresh
from navigator.models import (
    OPEN_STATUSES,
    CaseEventKind,
    CoachingGoal,
    CoachingSession,
    GroupAttendance,
    GroupEnrolment,
    NavigationCase,
    User,
)
from navigator.permissions import ensure_manager
from outreach.messaging.stops import messages_cancel_pending
from outreach.models import InboundSms, PatientMessage
from patients.models import (
    SOURCE_ORDER,
    ClinicalResource,
    DataQualityWarning,
    DemographicSource,
    Patient,
    PatientMerge,
    PatientPhone,
    PatientSourceLink,
    RaceEthnicity,
    Referral,
    ScreeningEvent,
)
from patients.mrn import mrn_normalise
from patients.names import name_normalise
from patients.services.patients import patient_race_set


def _merged_race(kept: set[str], other: set[str]) -> list[str]:
    """Both records' answers for one person: every category either gave; a
    non-answer ("declined", then "unknown") only when neither gave a category."""
    both = kept | other
    non_answers: list[str] = [RaceEthnicity.DECLINED, RaceEthnicity.UNKNOWN]
    real = sorted(both - set(non_answers))
    if real:
        return real
    return [answer for answer in non_answers if answer in both][:1]


def _merged_race_source(answers: list[str], records: list[tuple[set[str], str]]) -> str:
    """Who gave the merged answers: the weakest source (`SOURCE_ORDER`) of the records
    that gave any of them, so a merge never claims more than each record did."""
    given = [source for categories, source in records if categories & set(answers)]
    if not given:
        return ""
    strength: dict[str, int] = {source: rank for rank, source in enumerate(SOURCE_ORDER)}
    return max(
        (source or DemographicSource.EHR_UNSTATED for source in given),
        key=lambda source: strength.get(source, len(SOURCE_ORDER)),
    )


def _open_programs(patient: Patient) -> dict[int, int]:
    """Program → its open case, for one patient."""
    return dict(
        NavigationCase.objects.filter(patient=patient, status__in=OPEN_STATUSES).values_list(
            "program_id", "pk"
        )
    )


def patient_merge(*, survivor_id: int, duplicate_id: int, actor: User) -> PatientMerge:
    """Move the duplicate's cases (with their attempts, barriers, appointments, kits
    and tasks), referrals, screenings, EHR links and data, messages, phones and race
    and ethnicity onto the survivor; record the merge on every case of both; keep
    the duplicate, merged, out of every list.

    Refused when they are one record, when either is already merged, when they are
    at two clinics (each clinic's record is its own), when they share neither the MRN
    nor the name and birth date (two people, not one), or when both have an open case
    for the same program (a patient has one open case per program: a manager closes
    one first, with its reason).
    """
    ensure_manager(actor, "merge patient records")
    if survivor_id == duplicate_id:
        raise ValidationError({"duplicate": "Choose two different records to merge."})
    with transaction.atomic():
        # Cases before patients, the order recording a screening and an inbound text
        # take them in; then both patients in pk order.
        list(
            NavigationCase.objects.select_for_update()
            .filter(patient_id__in=[survivor_id, duplicate_id])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        locked = {
            patient.pk: patient
            for patient in Patient.objects.select_for_update()
            .filter(pk__in=[survivor_id, duplicate_id])
            .order_by("pk")
        }
        if len(locked) != 2:
            raise ValidationError({"duplicate": "One of these records no longer exists."})
        survivor, duplicate = locked[survivor_id], locked[duplicate_id]
        merged = set(
            PatientMerge.objects.filter(duplicate__in=[survivor, duplicate]).values_list(
                "duplicate_id", flat=True
            )
        )
        if merged:
            raise ValidationError(
                {"duplicate": f"Record #{min(merged)} was already merged into another one."}
            )
        if survivor.clinic_id != duplicate.clinic_id:
            raise ValidationError(
                {"duplicate": "These records are at two clinics; each clinic's record is its "
                 "own. Merge only records of one clinic."}
            )  # fmt: skip
        same_mrn = bool(survivor.mrn.strip()) and mrn_normalise(survivor.mrn) == mrn_normalise(
            duplicate.mrn
        )
        same_person = (
            name_normalise(survivor.given_name) == name_normalise(duplicate.given_name)
            and name_normalise(survivor.family_name) == name_normalise(duplicate.family_name)
            and survivor.birth_date == duplicate.birth_date
        )
        if not (same_mrn or same_person):
            raise ValidationError(
                {"duplicate": "These records share neither the MRN nor the name and birth "
                 "date: they look like two people. Correct the record first if it is wrong."}
            )  # fmt: skip
        both_open = set(_open_programs(survivor)) & set(_open_programs(duplicate))
        if both_open:
            cases = sorted(
                NavigationCase.objects.filter(
                    patient__in=[survivor, duplicate],
                    program_id__in=both_open,
                    status__in=OPEN_STATUSES,
                ).values_list("pk", flat=True)
            )
            raise ValidationError(
                {
                    "duplicate": "Both records have an open case for the same program "
                    f"(cases {', '.join(f'#{pk}' for pk in cases)}): close one of them "
                    "first, with its reason, then merge."
                }
            )

        # A roster holds a patient once: both records on one series is for a person to
        # settle (withdraw the wrong one's place), not for the merge to guess.
        shared_series = sorted(
            GroupEnrolment.objects.filter(patient=duplicate)
            .filter(series__enrolments__patient=survivor)
            .values_list("series__name", flat=True)
        )
        if shared_series:
            raise ValidationError(
                {
                    "duplicate": "Both records are on the roster of "
                    f"{', '.join(shared_series)}: ask a program manager to settle the "
                    "roster first, then merge."
                }
            )

        survivor_cases = list(NavigationCase.objects.select_for_update().filter(patient=survivor))
        moving_cases = list(NavigationCase.objects.select_for_update().filter(patient=duplicate))
        moved = {
            "cases": NavigationCase.objects.filter(patient=duplicate).update(patient=survivor),
            "referrals": Referral.objects.filter(patient=duplicate).update(patient=survivor),
            "screenings": ScreeningEvent.objects.filter(patient=duplicate).update(patient=survivor),
            "ehr_links": PatientSourceLink.objects.filter(patient=duplicate).update(
                patient=survivor
            ),
            "ehr_resources": ClinicalResource.objects.filter(patient=duplicate).update(
                patient=survivor
            ),
            "data_warnings": DataQualityWarning.objects.filter(patient=duplicate).update(
                patient=survivor
            ),
            "messages": PatientMessage.objects.filter(patient=duplicate).update(patient=survivor),
            "inbound_texts": InboundSms.objects.filter(patient=duplicate).update(patient=survivor),
            # Coaching rows keep their case's patient beside the case: they move with it.
            "coaching_sessions": CoachingSession.objects.filter(patient=duplicate).update(
                patient=survivor
            ),
            "coaching_goals": CoachingGoal.objects.filter(patient=duplicate).update(
                patient=survivor
            ),
            "group_enrolments": GroupEnrolment.objects.filter(patient=duplicate).update(
                patient=survivor
            ),
            "group_attendance": GroupAttendance.objects.filter(patient=duplicate).update(
                patient=survivor
            ),
        }
        known_numbers = set(survivor.phones.values_list("number", flat=True))
        rank = survivor.phones.count()
        phones_moved = 0
        for phone in duplicate.phones.order_by("rank", "pk"):
            if phone.number in known_numbers:
                continue  # the survivor has it already; the duplicate keeps its copy
            PatientPhone.objects.filter(pk=phone.pk).update(patient=survivor, rank=rank)
            rank += 1
            phones_moved += 1
        moved["phones"] = phones_moved
        kept = set(survivor.race_ethnicities.values_list("category", flat=True))
        theirs = set(duplicate.race_ethnicities.values_list("category", flat=True))
        answers = _merged_race(kept, theirs)
        source = _merged_race_source(
            answers,
            [
                (kept, survivor.race_ethnicity_source),
                (theirs, duplicate.race_ethnicity_source),
            ],
        )
        patient_race_set(patient=survivor, categories=answers, source=source)
        moved["race_ethnicity"] = len(set(answers) - kept)

        if duplicate.deceased and not survivor.deceased:
            # The EHR said so of one record: it holds for the person.
            survivor.deceased = True
            survivor.save(update_fields=["deceased", "updated_at"])
            messages_cancel_pending(patient=survivor, reason="patient deceased", suppress=True)
            moved["deceased"] = 1
        merge = PatientMerge.objects.create(
            survivor=survivor, duplicate=duplicate, actor=actor, moved=moved
        )
        summary = f"Patient records merged: #{duplicate.pk} into #{survivor.pk}"
        data = {"survivor": survivor.pk, "duplicate": duplicate.pk, "merge": merge.pk}
        for case in sorted([*survivor_cases, *moving_cases], key=lambda c: c.pk):
            event_record(
                case=case,
                kind=CaseEventKind.PATIENT_MERGED,
                actor=actor,
                summary=summary,
                data=data,
            )
        # The survivor's screening status now reads the clinical data of both, and its
        # cases follow (a screening in the duplicate's EHR data closes an open case).
        Patient.objects.filter(pk=survivor.pk).update(clinical_data_changed_at=timezone.now())
        care_gaps_refresh(as_of=timezone.localdate(), patient_ids=[survivor.pk])
        # The stored population measures count the person once from now: the survivor
        # with both records' data, the duplicate no more (its rows go).
        enqueue_on_commit(
            "patients.tasks.refresh_measure_populations_for", [survivor.pk, duplicate.pk]
        )
        return merge
