"""One patient with a row of every kind EquiNav holds on a patient (the right-of-access
tests): each free text carries `marker`, so a test can tell one patient's record from
another's."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from navigator.models import (
    CaseEvent,
    CoachingGoal,
    CoachingSession,
    GroupAttendance,
    GroupEnrolment,
    KitMailing,
    ResultFollowUp,
)
from outreach.models import (
    CaseTask,
    FollowUpReminder,
    InboundSms,
    InterpreterRequest,
    PatientMessage,
    SmsOptOut,
)
from patients.models import (
    CareGap,
    DataQualityWarning,
    MeasurePopulation,
    PatientMerge,
    PatientPhone,
    PatientRaceEthnicity,
    PatientSourceLink,
    Referral,
)
from tests import factories
from tests.support.fhir import ehr_resource, fit


def seed_full_record(*, marker: str, phone: str, clinic=None) -> dict:
    """A patient and one row of each kind `records.EXPORTED` names, keyed by model label."""
    clinic = clinic or factories.ClinicFactory()
    patient = factories.PatientFactory(
        clinic=clinic,
        given_name=f"Given{marker}",
        family_name=f"Family{marker}",
        email=f"{marker.lower()}@example.org",
        address_line1=f"{marker} Main Street",
        city="Boston",
        state="MA",
        postal_code="02110",
        sms_consent=True,
        sms_consent_at=timezone.now(),
        race_ethnicity=["asian", "hispanic"],
        phone=phone,
    )
    navigator = factories.NavigatorFactory()
    staff = factories.ClinicStaffFactory(clinic=clinic)
    manager = factories.ManagerFactory()
    case = factories.CaseFactory(patient=patient, navigator=navigator)
    phone_row = PatientPhone.objects.get(patient=patient)
    now = timezone.now()
    today = timezone.localdate()
    duplicate = factories.PatientFactory(
        clinic=clinic, given_name=f"Dup{marker}", family_name=f"Family{marker}"
    )
    clinical = ehr_resource(patient, fit("2025-03-02"))
    screening = factories.result_recorded(case, category="abnormal")
    rows = {
        "patients.Patient": patient,
        "patients.PatientRaceEthnicity": PatientRaceEthnicity.objects.filter(patient=patient)[0],
        "patients.PatientPhone": phone_row,
        "patients.PatientSourceLink": PatientSourceLink.objects.create(
            source=clinical.source, resource_id=f"feed-{marker}", patient=patient
        ),
        "patients.PatientMerge": PatientMerge.objects.create(
            survivor=patient, duplicate=duplicate, actor=manager, moved={"cases": 0}
        ),
        "outreach.SmsOptOut": SmsOptOut.objects.create(
            number=str(phone_row.number), keyword="STOP"
        ),
        "patients.Referral": Referral.objects.create(
            clinic=clinic,
            patient=patient,
            program=case.program,
            referring_clinician=f"Dr. {marker}",
            reason=f"Referral reason {marker}",
            case=case,
            created_by=staff,
        ),
        "patients.CareGap": CareGap.objects.create(
            patient=patient,
            program=case.program,
            status="overdue",
            as_of=today,
            summary=f"Care gap summary {marker}",
            rule_version=1,
        ),
        "patients.ClinicalResource": clinical,
        "patients.ScreeningEvent": screening,
        "patients.MeasurePopulation": MeasurePopulation.objects.create(
            measure="CMS130",
            program=case.program,
            patient=patient,
            period_start=dt.date(2025, 1, 1),
            period_end=dt.date(2025, 12, 31),
            denominator_exclusion=False,
            numerator=True,
            age_at_end=55,
            computed_at=now,
        ),
        "patients.DataQualityWarning": DataQualityWarning.objects.create(
            source=clinical.source,
            kind="identifier_conflict",
            message=f"Warning {marker}",
            patient=patient,
        ),
        "navigator.NavigationCase": case,
        "navigator.CaseEvent": CaseEvent.objects.create(
            case=case,
            kind="note",
            actor=navigator.user,
            summary=f"Note {marker}",
            data={"text": f"Note {marker}"},
        ),
        "outreach.ContactAttempt": factories.ContactAttemptFactory(
            case=case, note=f"Attempt note {marker}", phone=phone_row
        ),
        "navigator.CaseBarrier": factories.CaseBarrierFactory(
            case=case, action=f"Barrier action {marker}"
        ),
        "navigator.Appointment": factories.AppointmentFactory(case=case, site=f"Site {marker}"),
        "navigator.KitMailing": KitMailing.objects.create(
            case=case,
            modality=factories.modality("fit"),
            mailed_on=today,
            created_by=navigator.user,
        ),
        "navigator.ResultFollowUp": ResultFollowUp.objects.get(screening=screening),
        "outreach.FollowUpReminder": FollowUpReminder.objects.create(
            case=case, navigator=navigator, due_on=today
        ),
        "outreach.CaseTask": CaseTask.objects.create(
            case=case,
            kind="no_show",
            subject_key=f"task-{marker}",
            due_on=today,
            summary=f"Task {marker}",
        ),
        "outreach.PatientMessage": PatientMessage.objects.create(
            patient=patient,
            case=case,
            kind="appointment_reminder",
            channel="sms",
            recipient=str(phone_row.number),
            language="en",
            body=f"Message text {marker}",
            rule_key="rule:test",
            subject_key=f"appointment:{marker}",
            slot=today,
            due_at=now,
            state="sent",
            sent_at=now,
        ),
        "outreach.InboundSms": InboundSms.objects.create(
            provider_id=f"SM{marker}",
            from_number=str(phone_row.number),
            body=f"Inbound text {marker}",
            intent="message",
            patient=patient,
            case=case,
        ),
        "outreach.InterpreterRequest": InterpreterRequest.objects.create(
            case=case,
            language="es",
            modality="phone",
            needed_at=now + dt.timedelta(days=2),
            provider=f"Interpreter {marker}",
            created_by=navigator.user,
        ),
    }
    session = CoachingSession.objects.create(
        case=case, patient=patient, coach=navigator.user, language="en",
        scheduled_at=now - dt.timedelta(days=7), status="attended", minutes_spent=45,
        topics=["healthy_eating"], note=f"Coaching note {marker}", created_by=navigator.user,
    )  # fmt: skip
    series = factories.GroupSeriesFactory(name=f"Series {marker}", facilitator=navigator.user)
    enrolment = GroupEnrolment.objects.create(
        series=series, case=case, patient=patient, enrolled_by=navigator.user
    )
    class_session = factories.GroupSessionFactory(
        series=series, starts_at=now - dt.timedelta(days=3)
    )
    rows |= {
        "navigator.CoachingSession": session,
        "navigator.CoachingGoal": CoachingGoal.objects.create(
            case=case,
            patient=patient,
            text=f"Goal {marker}",
            behaviour="being_active",
            set_in=session,
        ),  # fmt: skip
        "navigator.GroupEnrolment": enrolment,
        "navigator.GroupAttendance": GroupAttendance.objects.create(
            session=class_session,
            enrolment=enrolment,
            patient=patient,
            status="attended",
            minutes=90,
            recorded_by=navigator.user,
        ),  # fmt: skip
    }
    return rows
