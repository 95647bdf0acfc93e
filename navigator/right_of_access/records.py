"""Everything EquiNav holds on one patient, read in a fixed number of queries.

`patient_record_for` is the selector: it scopes the patient to the user (a record
merged into another is nobody's: its rows are on the one it was merged into), then
reads each table that holds something about the patient once, filtered by the
patient or by the patient's cases, with the people and reference rows each needs
joined in. The builders (`fhir_bundle`, `pdf`) group rows by case in Python, so
the number of queries does not grow with the number of cases or events.

`EXPORTED` and `EXCLUDED` name every table that points at a patient or a case
(directly, or through a row that does); the project's test reads the models and
fails when a new one is in neither, so a new table cannot be left out silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from navigator.models import (
    Appointment,
    CaseBarrier,
    CaseEvent,
    CoachingGoal,
    CoachingSession,
    GroupAttendance,
    GroupEnrolment,
    KitMailing,
    NavigationCase,
    ResultFollowUp,
    User,
)
from outreach.models import (
    CaseTask,
    ContactAttempt,
    FollowUpReminder,
    InboundSms,
    InterpreterRequest,
    PatientMessage,
    SmsOptOut,
)
from patients.caregaps.measures.registry import MEASURES
from patients.models import (
    CareGap,
    ClinicalResource,
    DataQualityWarning,
    MeasurePopulation,
    Patient,
    PatientMerge,
    PatientPhone,
    PatientRaceEthnicity,
    PatientSourceLink,
    Referral,
    ScreeningEvent,
)
from patients.selectors import patients_visible_to

# Each table that holds something about a patient → where the export puts it
# (`app_label.ModelName`, as Django names models).
EXPORTED: dict[str, str] = {
    "patients.Patient": "Patient (names, birth date, sex, contact, languages, consent)",
    "patients.PatientRaceEthnicity": "Patient extension (US Core race/ethnicity, text)",
    "patients.PatientPhone": "Patient.telecom",
    "patients.PatientSourceLink": "Patient.identifier (the EHR feeds' ids)",
    "patients.PatientMerge": "Patient.link, and the merged record as its own Patient",
    "patients.Referral": "ServiceRequest",
    "patients.CareGap": "DetectedIssue (a gap in care, as Da Vinci DEQM models it)",
    "patients.ClinicalResource": "the resource as the EHR sent it",
    "patients.ScreeningEvent": "Procedure (the test) and Observation (its result)",
    "patients.MeasurePopulation": "the record document (JSON) and the PDF",
    "patients.DataQualityWarning": "the record document (JSON) and the PDF",
    "navigator.NavigationCase": "EpisodeOfCare",
    "navigator.CaseEvent": "notes: DocumentReference; the whole timeline: record document",
    "navigator.CaseBarrier": "the record document (JSON) and the PDF",
    "navigator.Appointment": "Appointment",
    "navigator.KitMailing": "SupplyDelivery",
    "navigator.ResultFollowUp": "ServiceRequest (the next step a result calls for)",
    "outreach.ContactAttempt": "Communication",
    "outreach.FollowUpReminder": "the record document (JSON) and the PDF",
    "outreach.CaseTask": "Task",
    "outreach.PatientMessage": "Communication (with the message's text)",
    "outreach.InboundSms": "Communication (from the patient)",
    "outreach.InterpreterRequest": "the record document (JSON) and the PDF",
    "outreach.SmsOptOut": "the record document (JSON) and the PDF (matched by phone number)",
    "navigator.CoachingSession": "the record document (JSON) and the PDF",
    "navigator.CoachingGoal": "the record document (JSON) and the PDF",
    "navigator.GroupEnrolment": "the record document (JSON) and the PDF",
    "navigator.GroupAttendance": "the record document (JSON) and the PDF",
}

# Tables that point at a patient or a case but are not information about the patient.
EXCLUDED: dict[str, str] = {
    "audit.AccessedPatient": (
        "who opened or exported the patient's record, when: the audit trail, which the "
        "accounting of disclosures (45 CFR 164.528) draws on, not the designated record set "
        "(so is audit.RowChange, the change history, which names its patient by id only)"
    ),
    "patients.CareGapStamp": (
        "when the system last computed the patient's care gaps: bookkeeping for the "
        "nightly run, not information about the patient (the gaps themselves are exported)"
    ),
    "patients.ReferralSeen": (
        "when a clinic user last opened a referral's page: staff activity, kept to mark "
        "what changed for that user, not information about the patient"
    ),
}


@dataclass(frozen=True)
class PatientRecord:
    """One patient's rows, each list in the order the PDF reads them."""

    patient: Patient
    race_ethnicities: list[PatientRaceEthnicity]
    phones: list[PatientPhone]
    source_links: list[PatientSourceLink]
    merges: list[PatientMerge]
    sms_opt_outs: list[SmsOptOut]
    referrals: list[Referral]
    care_gaps: list[CareGap]
    clinical_resources: list[ClinicalResource]
    screenings: list[ScreeningEvent]
    measure_populations: list[MeasurePopulation]
    data_quality_warnings: list[DataQualityWarning]
    cases: list[NavigationCase]
    events: list[CaseEvent]
    attempts: list[ContactAttempt]
    barriers: list[CaseBarrier]
    appointments: list[Appointment]
    kits: list[KitMailing]
    follow_ups: list[ResultFollowUp]
    reminders: list[FollowUpReminder]
    tasks: list[CaseTask]
    messages: list[PatientMessage]
    inbound_texts: list[InboundSms]
    interpreter_requests: list[InterpreterRequest]
    coaching_sessions: list[CoachingSession]
    coaching_goals: list[CoachingGoal]
    group_enrolments: list[GroupEnrolment]
    # Each class attended or missed, under its enrolment (`attendance_of`).
    group_attendance: list[GroupAttendance]
    # Rows of the lists above per case id, filled in __post_init__.
    by_case: dict[int, dict[str, list]] = field(default_factory=dict)

    CASE_LISTS = (
        "events",
        "attempts",
        "barriers",
        "appointments",
        "kits",
        "follow_ups",
        "reminders",
        "tasks",
        "interpreter_requests",
        "coaching_sessions",
        "coaching_goals",
        "group_enrolments",
    )

    def __post_init__(self) -> None:
        for case in self.cases:
            self.by_case[case.pk] = {name: [] for name in self.CASE_LISTS}
        for name in self.CASE_LISTS:
            for row in getattr(self, name):
                self.by_case[row.case_id][name].append(row)

    def of_case(self, case: NavigationCase, name: str) -> list:
        return self.by_case[case.pk][name]

    def attendance_of(self, enrolment: GroupEnrolment) -> list[GroupAttendance]:
        return [row for row in self.group_attendance if row.enrolment_id == enrolment.pk]


def staff_name(user: User | None) -> str:
    """How the export names a member of staff (their full name; else their username)."""
    if user is None:
        return ""
    return user.get_full_name() or user.username


def population_program_name(population: MeasurePopulation) -> str:
    """The programme a stored measure row belongs to, in words: an eCQM EquiNav runs
    no programme for (CMS122 before a diabetes programme exists) is named itself."""
    if population.program is not None:
        return population.program.name
    measure = MEASURES.get(population.measure)
    return measure.title if measure is not None else population.measure


def population_outcome(population: MeasurePopulation) -> str:
    """What a stored measure row says of the patient, in words: screened or not for a
    screening measure; for CMS122 (inverse) whether the year's last HbA1c/GMI was above
    9 %. A row counted out by an exclusion is in neither."""
    if population.denominator_exclusion:
        return "Not counted"
    measure = MEASURES.get(population.measure)
    if measure is None:
        return "In the numerator" if population.numerator else "Not in the numerator"
    return measure.numerator_words if population.numerator else measure.outside_numerator_words


def warning_words(warning: DataQualityWarning) -> str:
    """A data-quality warning in words about this patient only: the stored message names
    the other record (its EquiNav and feed ids), which is another person's."""
    return (
        f"{warning.get_kind_display()}: a record sent by {warning.source.name} carries the "
        "same medical record number as another record; the two were kept apart, not merged."
    )


def patient_record_for(*, user: User, patient_id: int) -> PatientRecord:
    """Everything held on the patient, if `user` may see them; else Patient.DoesNotExist.

    One query per table (twenty-eight in all), whatever the number of cases, events or
    messages: each list below is one query, with the rows it names joined in."""
    patient = patients_visible_to(user).select_related("clinic").get(pk=patient_id)
    phones = list(PatientPhone.objects.filter(patient=patient))
    of_cases = Q(case__patient=patient)
    numbers = [str(phone.number) for phone in phones]
    return PatientRecord(
        patient=patient,
        race_ethnicities=list(
            PatientRaceEthnicity.objects.filter(patient=patient).order_by("category")
        ),
        phones=phones,
        source_links=list(
            PatientSourceLink.objects.filter(patient=patient)
            .select_related("source")
            .order_by("linked_at", "pk")
        ),
        merges=list(
            PatientMerge.objects.filter(survivor=patient)
            .select_related("duplicate", "duplicate__clinic", "actor")
            .order_by("at", "pk")
        ),
        sms_opt_outs=list(SmsOptOut.objects.filter(number__in=numbers).order_by("opted_out_at")),
        referrals=list(
            Referral.objects.filter(patient=patient)
            .select_related("clinic", "program", "created_by", "eligibility_overridden_by")
            .order_by("created_at", "pk")
        ),
        care_gaps=list(
            CareGap.objects.filter(patient=patient)
            .select_related("program", "last_modality")
            .order_by("program__name")
        ),
        clinical_resources=list(
            ClinicalResource.objects.filter(patient=patient)
            .select_related("source")
            .order_by("resource_type", "imported_at", "pk")
        ),
        screenings=list(
            ScreeningEvent.objects.filter(patient=patient)
            .select_related("modality", "modality__program", "category", "recorded_by")
            .order_by("performed_on", "pk")
        ),
        measure_populations=list(
            MeasurePopulation.objects.filter(patient=patient)
            .select_related("program")
            .order_by("measure", "period_start")
        ),
        data_quality_warnings=list(
            DataQualityWarning.objects.filter(Q(patient=patient) | Q(other_patient=patient))
            .select_related("source")
            .order_by("created_at", "pk")
        ),
        cases=list(
            NavigationCase.objects.filter(patient=patient)
            .select_related("program", "navigator__user")
            .order_by("opened_at", "pk")
        ),
        events=list(
            CaseEvent.objects.filter(of_cases).select_related("actor").order_by("at", "pk")
        ),
        attempts=list(
            ContactAttempt.objects.filter(of_cases)
            .select_related("created_by", "phone")
            .order_by("attempted_at", "pk")
        ),
        barriers=list(
            CaseBarrier.objects.filter(of_cases)
            .select_related("barrier_type__category", "created_by")
            .order_by("identified_on", "pk")
        ),
        appointments=list(
            Appointment.objects.filter(of_cases)
            .select_related("modality", "created_by")
            .order_by("scheduled_at", "pk")
        ),
        kits=list(
            KitMailing.objects.filter(of_cases)
            .select_related("modality", "created_by")
            .order_by("mailed_on", "pk")
        ),
        follow_ups=list(
            ResultFollowUp.objects.filter(of_cases)
            .select_related("next_modality", "close_proposed_by", "closed_by")
            .order_by("result_on", "pk")
        ),
        reminders=list(
            FollowUpReminder.objects.filter(of_cases)
            .select_related("navigator__user")
            .order_by("due_on", "pk")
        ),
        tasks=list(
            CaseTask.objects.filter(of_cases).select_related("done_by").order_by("due_on", "pk")
        ),
        messages=list(
            PatientMessage.objects.filter(Q(patient=patient) | of_cases).order_by("due_at", "pk")
        ),
        inbound_texts=list(
            InboundSms.objects.filter(Q(patient=patient) | of_cases).order_by("received_at", "pk")
        ),
        interpreter_requests=list(
            InterpreterRequest.objects.filter(of_cases)
            .select_related("created_by")
            .order_by("needed_at", "pk")
        ),
        coaching_sessions=list(
            CoachingSession.objects.filter(of_cases)
            .select_related("coach")
            .order_by("scheduled_at", "pk")
        ),
        coaching_goals=list(
            CoachingGoal.objects.filter(of_cases)
            .select_related("set_in", "reviewed_in")
            .order_by("created_at", "pk")
        ),
        group_enrolments=list(
            GroupEnrolment.objects.filter(of_cases)
            .select_related("series__facilitator")
            .order_by("enrolled_at", "pk")
        ),
        group_attendance=list(
            GroupAttendance.objects.filter(enrolment__case__patient=patient)
            .select_related("session__series", "makeup_for")
            .order_by("session__starts_at", "pk")
        ),
    )
