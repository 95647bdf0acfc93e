from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from navigator.models import CaseStatus, NavigationCase, NavigatorProfile, Role, User
from patients.models import Clinic, Patient, PatientPhone, ScreeningProgram
from patients.services.patients import patient_race_set

PASSWORD = "correct-horse-battery-staple"


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"clinic-{n}")
    name = factory.Sequence(lambda n: f"Clinic {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = Role.NAVIGATOR
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


class ManagerFactory(UserFactory):
    role = Role.MANAGER


class AdminFactory(UserFactory):
    role = Role.ADMIN


class ClinicStaffFactory(UserFactory):
    role = Role.CLINIC_STAFF
    clinic = factory.SubFactory(ClinicFactory)


class NavigatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NavigatorProfile

    user = factory.SubFactory(UserFactory, role=Role.NAVIGATOR)
    languages = factory.LazyFunction(lambda: ["en"])
    caseload_capacity = 100
    active = True


class CoachFactory(NavigatorFactory):
    """A health coach's caseload (the same profile a navigator's is)."""

    user = factory.SubFactory(UserFactory, role=Role.COACH)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    clinic = factory.SubFactory(ClinicFactory)
    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    birth_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=365 * 55))
    sex = "female"
    preferred_language = "en"
    # As a referral that gives the language: asked, and answered by the patient.
    language_status = "recorded"
    language_source = "self_reported"
    english_proficiency = "very_well"

    @factory.post_generation
    def race_ethnicity(self, create, extracted, **kwargs):
        # race_ethnicity__source="proxy" names who answered (default: the patient).
        if create and extracted:
            patient_race_set(
                patient=self,
                categories=list(extracted),
                source=kwargs.get("source", "self_reported"),
            )

    @factory.post_generation
    def phone(self, create, extracted, **kwargs):
        if create and extracted:
            PatientPhone.objects.create(patient=self, number=extracted, kind="mobile")


def program(code: str = "colorectal") -> ScreeningProgram:
    return ScreeningProgram.objects.get(code=code)


class CaseFactory(factory.django.DjangoModelFactory):
    """A case already assigned to a navigator (status set directly: test setup only)."""

    class Meta:
        model = NavigationCase

    patient = factory.SubFactory(PatientFactory)
    program = factory.LazyFunction(lambda: program("colorectal"))
    navigator = factory.SubFactory(NavigatorFactory)
    status = CaseStatus.ASSIGNED
    next_follow_up = factory.LazyFunction(timezone.localdate)


class ControlCaseFactory(CaseFactory):
    """A case of the diabetes control programme (coaching and group classes)."""

    program = factory.LazyFunction(lambda: program("diabetes"))


class FhirSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "patients.FhirSource"
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"feed-{n}")
    name = factory.Sequence(lambda n: f"EHR feed {n}")
    clinic = factory.SubFactory(ClinicFactory)


# --- What happens on a case (the worklist's facts) ---------------------------------------


def modality(code: str, program_code: str = "colorectal"):
    from patients.models import ScreeningModality

    return ScreeningModality.objects.get(program__code=program_code, code=code)


def barrier_type(code: str):
    from navigator.models import BarrierType

    return BarrierType.objects.get(code=code)


class ContactAttemptFactory(factory.django.DjangoModelFactory):
    """An outbound call that reached nobody, by the case's navigator, just now."""

    class Meta:
        model = "outreach.ContactAttempt"

    case = factory.SubFactory(CaseFactory)
    attempted_at = factory.LazyFunction(timezone.now)
    channel = "phone"
    direction = "outbound"
    outcome = "no_answer"
    purpose = "outreach"
    created_by = factory.LazyAttribute(lambda attempt: attempt.case.navigator.user)


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A screening appointment booked now for three days ahead."""

    class Meta:
        model = "navigator.Appointment"

    case = factory.SubFactory(CaseFactory)
    purpose = "screening"
    scheduled_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=3))
    site = "MGH Endoscopy Center"
    status = "booked"
    created_by = factory.LazyAttribute(lambda appointment: appointment.case.navigator.user)


class ScreeningEventFactory(factory.django.DjangoModelFactory):
    """A FIT done today on the case's patient, normal."""

    class Meta:
        model = "patients.ScreeningEvent"

    case = factory.SubFactory(CaseFactory)
    patient = factory.LazyAttribute(lambda event: event.case.patient)
    modality = factory.LazyFunction(lambda: modality("fit"))
    performed_on = factory.LazyFunction(timezone.localdate)
    result = "normal"


class CaseBarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "navigator.CaseBarrier"

    case = factory.SubFactory(CaseFactory)
    barrier_type = factory.LazyFunction(lambda: barrier_type("transportation"))
    status = "identified"
    created_by = factory.LazyAttribute(lambda barrier: barrier.case.navigator.user)


class CoverageFactory(factory.django.DjangoModelFactory):
    """`covering` covers `absent` from yesterday to a week ahead."""

    class Meta:
        model = "navigator.Coverage"

    absent = factory.SubFactory(NavigatorFactory)
    covering = factory.SubFactory(NavigatorFactory)
    starts_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=1))
    ends_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=7))
    created_by = factory.LazyAttribute(lambda coverage: coverage.covering.user)


def result_recorded(
    case: NavigationCase,
    *,
    category: str = "abnormal",
    test: str = "fit",
    performed_on: dt.date | None = None,
    resulted_on: dt.date | None = None,
):
    """A test's result on a case as the screening service leaves it (test setup only:
    no timeline, no care gaps): the ScreeningEvent in its category and, where the
    program's seeded pathway calls for one, the open ResultFollowUp, with the case in
    the matching status. Returns the screening."""
    from navigator.models import ResultFollowUp
    from patients.models import ResultCategory, ScreeningEvent
    from patients.result_pathways import pathway_for

    program_code = case.program.code
    test_modality = modality(test, program_code)
    result_category = ResultCategory.objects.get(program=case.program, code=category)
    performed_on = performed_on or timezone.localdate()
    resulted_on = resulted_on or performed_on
    screening = ScreeningEvent.objects.create(
        patient=case.patient,
        case=case,
        modality=test_modality,
        performed_on=performed_on,
        resulted_on=resulted_on,
        result=result_category.result,
        category=result_category,
    )
    pathway = pathway_for(category=result_category, modality=test_modality)
    if pathway is not None:
        ResultFollowUp.objects.create(
            case=case,
            screening=screening,
            pathway=pathway,
            kind=pathway.kind,
            next_step=pathway.next_step,
            next_modality=pathway.next_modality,
            result_on=resulted_on,
            due_on=resulted_on + dt.timedelta(days=pathway.target_days),
            limit_on=(
                resulted_on + dt.timedelta(days=pathway.limit_days) if pathway.limit_days else None
            ),
        )
        status = (
            CaseStatus.FOLLOW_UP_NEEDED
            if pathway.kind == "diagnostic"
            else CaseStatus.REPEAT_NEEDED
        )
        NavigationCase.objects.filter(pk=case.pk).update(status=status)
        case.status = status
    return screening


class CoachingSessionFactory(factory.django.DjangoModelFactory):
    """An individual coaching session booked for two days ahead (test setup only)."""

    class Meta:
        model = "navigator.CoachingSession"

    case = factory.SubFactory(ControlCaseFactory)
    patient = factory.LazyAttribute(lambda session: session.case.patient)
    coach = factory.LazyAttribute(lambda session: session.case.navigator.user)
    scheduled_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=2))
    duration_minutes = 60
    language = factory.LazyAttribute(lambda session: session.case.patient.preferred_language)
    created_by = factory.LazyAttribute(lambda session: session.coach)


class GroupSeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "navigator.GroupSeries"

    # Group classes belong to control programmes (DSMT): diabetes by default.
    program = factory.LazyFunction(lambda: program("diabetes"))
    name = factory.Sequence(lambda n: f"Living well with diabetes {n}")
    curriculum = "dsmes-basics"
    language = "es"
    facilitator = factory.SubFactory(UserFactory, role=Role.NAVIGATOR)
    location = "Community room, 2nd floor"
    capacity = 8
    created_by = factory.LazyAttribute(lambda series: series.facilitator)


class GroupSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "navigator.GroupSession"

    series = factory.SubFactory(GroupSeriesFactory)
    number = factory.Sequence(lambda n: n + 1)
    starts_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=7))
    duration_minutes = 90


class GroupEnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "navigator.GroupEnrolment"

    series = factory.SubFactory(GroupSeriesFactory)
    case = factory.SubFactory(ControlCaseFactory)
    patient = factory.LazyAttribute(lambda enrolment: enrolment.case.patient)
    enrolled_by = factory.LazyAttribute(lambda enrolment: enrolment.case.navigator.user)
