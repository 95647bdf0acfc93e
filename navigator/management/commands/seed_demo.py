"""Create a demo program: clinics, staff of every role, and a few hundred synthetic
patients whose cases stand at every stage of navigation; then each clinic's EHR feed
of colorectal-age patients, whose screening tells the equity dashboard's story
(`demo_equity`), with CMS130 stored for the last eight quarters; and among them
patients with diabetes, coached alone and in groups, whose CMS122 gap narrows
(`demo_diabetes`, with CMS122 stored for the same quarters).

Idempotent: once the demo clinics have patients, a second run changes nothing
and only prints the logins again. Everything is synthetic (Faker, fixed seed).
Refuses to run with DEBUG off: its users have the published demo password.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import pgtrigger
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from faker import Faker

from navigator import cases
from navigator.intake.referrals import referral_create
from navigator.management import (
    demo_clinic,
    demo_control,
    demo_equity,
    demo_interpreters,
    demo_outreach,
    demo_results,
    demo_timeline,
)
from navigator.models import (
    BarrierType,
    CaseStatus,
    NavigationCase,
    NavigatorProfile,
    Role,
    User,
)
from navigator.services import (
    appointments,
    assignment,
    barriers,
    case_opening,
    follow_up,
    screenings,
)
from outreach.messaging.patient_reminders import recall_messages_schedule
from outreach.models import Outcome
from outreach.services.attempts import attempt_log
from outreach.services.follow_up_reminders import follow_up_reminders_create
from outreach.services.navigator_tasks import case_tasks_scan
from patients.demo_ehr import demo_bundles
from patients.fhir.importer import fhir_import
from patients.models import (
    Clinic,
    FhirSource,
    ModalityRole,
    Patient,
    Referral,
    ScreeningEvent,
    ScreeningProgram,
)
from patients.services.care_gaps import care_gaps_recompute
from patients.services.patients import PatientInput, PhoneInput, patient_find_or_create

DEMO_PASSWORD = "equinav-demo"  # noqa: S105 - synthetic demo accounts only
SEED = 2026
PATIENT_COUNT = 360
DEMO_FEED = "demo-ehr"
EHR_PATIENTS = 30
POPULATION_PATIENTS = 700

CLINICS = [
    ("chelsea", "Chelsea Community Health Center"),
    ("revere", "Revere Family Medicine"),
    ("dorchester", "Dorchester Neighborhood Clinic"),
]


def clinic_hours(day: dt.date) -> dt.datetime:
    """A demo appointment at 9:30 local time: real appointments are not at midnight."""
    return dt.datetime.combine(day, dt.time(9, 30), tzinfo=timezone.get_current_timezone())


# Which demo navigators work with which clinic (assignment prefers them there).
NAVIGATOR_CLINICS = {
    "maria": ["chelsea"],
    "ana": ["revere"],
    "jean": ["dorchester"],
    "sam": ["chelsea", "revere", "dorchester"],
}

# username, first, last, languages, capacity
NAVIGATORS = [
    ("maria", "María", "Rodríguez", ["es", "en"], 140),
    ("ana", "Ana", "Souza", ["pt", "es", "en"], 120),
    ("jean", "Jean", "Baptiste", ["ht", "fr", "en"], 120),
    ("linh", "Linh", "Nguyen", ["vi", "en"], 100),
    ("wei", "Wei", "Chen", ["zh", "yue", "en"], 100),
    ("sam", "Sam", "Okafor", ["en"], 150),
]

# (share, primary category, extra categories sometimes chosen, [(language, share)])
POPULATION = [
    (0.30, "hispanic", ["white", "black"], [("es", 0.65), ("en", 0.35)]),
    (0.17, "black", [], [("en", 0.70), ("ht", 0.22), ("kea", 0.08)]),
    (0.30, "white", [], [("en", 0.84), ("pt", 0.11), ("ru", 0.05)]),
    (0.12, "asian", [], [("vi", 0.35), ("zh", 0.2), ("yue", 0.15), ("en", 0.30)]),
    (0.03, "mena", [], [("ar", 0.5), ("en", 0.5)]),
    (0.01, "aian", [], [("en", 1.0)]),
    (0.01, "nhpi", [], [("en", 1.0)]),
    (0.04, "declined", [], [("en", 0.7), ("es", 0.3)]),
    (0.02, "unknown", [], [("en", 1.0)]),
]

FAKER_LOCALES = {
    "es": "es_MX", "pt": "pt_BR", "ht": "fr_FR", "kea": "pt_PT", "vi": "vi_VN",
    "zh": "zh_CN", "yue": "zh_TW", "ru": "ru_RU", "ar": "ar_AA", "en": "en_US",
}  # fmt: skip

STAGES = [
    (CaseStatus.NEW, 0.03),
    (CaseStatus.ASSIGNED, 0.15),
    (CaseStatus.CONTACTING, 0.25),
    (CaseStatus.SCHEDULED, 0.12),
    (CaseStatus.COMPLETED, 0.08),
    (CaseStatus.CLOSED, 0.20),
    (CaseStatus.CLOSED_UNREACHABLE, 0.08),
    (CaseStatus.DECLINED, 0.06),
    (CaseStatus.INELIGIBLE, 0.03),
]

PROGRAM_MIX = [("colorectal", 0.55), ("breast", 0.25), ("cervical", 0.15), ("lung", 0.05)]
SITES = ["MGH Endoscopy Center", "Chelsea Imaging", "Revere Women's Health", "Dorchester Lab"]
CLINICIANS = ["Dr. Patel", "Dr. Alvarez", "Dr. Kim", "Dr. O'Brien", "Dr. Haddad", "NP Silva"]


@dataclass
class DemoLogin:
    username: str
    role: str
    detail: str


def _pick(rng: random.Random, weighted):
    items = [item for item, _ in weighted]
    weights = [weight for _, weight in weighted]
    return rng.choices(items, weights=weights, k=1)[0]


class Command(BaseCommand):
    help = "Create demo clinics, users of every role and synthetic patients (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--patients", type=int, default=PATIENT_COUNT, help="How many synthetic patients."
        )
        parser.add_argument(
            "--ehr-patients",
            type=int,
            default=EHR_PATIENTS,
            help="How many patients the demo EHR feed brings (as FHIR).",
        )
        parser.add_argument(
            "--population-patients",
            type=int,
            default=POPULATION_PATIENTS,
            help="How many colorectal-age patients the clinics' feeds bring for the equity "
            "dashboard's story (0: none).",
        )

    def handle(self, *args, **options):
        # It creates a superuser with the published demo password (issue 14): never in production.
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG on: it creates users with the "
                               "published demo password. DEBUG is off: nothing done.")  # fmt: skip
        # The demo moves its timelines back over the past year, a rewrite the database
        # refuses anywhere else (navigator.audit.history).
        with transaction.atomic(), pgtrigger.ignore("navigator.CaseEvent:never_rewritten"):
            logins = self._users_and_clinics()
            if Referral.objects.filter(clinic__code__in=[c for c, _ in CLINICS]).exists():
                self.stdout.write("Demo data already present; nothing changed.")
            else:
                count = self._patients(options["patients"])
                self.stdout.write(self.style.SUCCESS(f"Created {count} demo patients."))
            if not FhirSource.objects.filter(key=DEMO_FEED).exists():
                imported = self._ehr_feed(options["ehr_patients"])
                self.stdout.write(
                    self.style.SUCCESS(f"Imported {imported} patients from the demo EHR feed.")
                )
            if options["population_patients"] and not demo_equity.population_present():
                # The equity dashboard's story (issue 13), and its stored measures.
                story = demo_equity.population_story(
                    clinics=[Clinic.objects.get(code=code) for code, _ in CLINICS],
                    count=options["population_patients"], today=timezone.localdate(), seed=SEED,
                )  # fmt: skip
                demo_equity.populations_compute(today=timezone.localdate())
                self.stdout.write(self.style.SUCCESS(f"Imported {story}."))
        self._print_logins(logins)

    # --- people ----------------------------------------------------------------------

    def _user(self, username, first, last, role, clinic=None, **extra) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@equinav.example",
                "role": role,
                "clinic": clinic,
                **extra,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _users_and_clinics(self) -> list[DemoLogin]:
        logins = []
        clinics = []
        for code, name in CLINICS:
            clinic, _ = Clinic.objects.get_or_create(code=code, defaults={"name": name})
            clinics.append(clinic)
        for username, first, last, languages, capacity in NAVIGATORS:
            user = self._user(username, first, last, Role.NAVIGATOR)
            profile, created = NavigatorProfile.objects.get_or_create(
                user=user, defaults={"languages": languages, "caseload_capacity": capacity}
            )
            if created:
                profile.clinics.set(
                    [c for c in clinics if c.code in NAVIGATOR_CLINICS.get(username, [])]
                )
            logins.append(DemoLogin(username, "navigator", ", ".join(languages)))
        self._user("manager", "Grace", "Lee", Role.MANAGER)
        logins.append(DemoLogin("manager", "program manager", "every case, reports"))
        for clinic in clinics:
            username = f"clinic-{clinic.code}"
            self._user(username, "Front", "Desk", Role.CLINIC_STAFF, clinic=clinic)
            logins.append(DemoLogin(username, "clinic staff", clinic.name))
        self._user("admin", "Site", "Admin", Role.ADMIN, is_staff=True, is_superuser=True)
        logins.append(DemoLogin("admin", "admin", "Django admin at /admin/"))
        self._user("compliance", "Ruth", "Okafor", Role.COMPLIANCE)
        logins.append(DemoLogin("compliance", "compliance", "the audit trail at /audit/"))
        return logins

    def _print_logins(self, logins: list[DemoLogin]) -> None:
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        for login in logins:
            self.stdout.write(f"  {login.username:<18} {login.role:<16} {login.detail}")

    # --- the EHR feed and care gaps -------------------------------------------------------

    def _ehr_feed(self, patient_count: int) -> int:
        """A synthetic EHR feed imported as FHIR, then every patient's care gaps."""
        clinic = Clinic.objects.get(code=CLINICS[0][0])
        source = FhirSource.objects.create(key=DEMO_FEED, name="Demo EHR (FHIR)", clinic=clinic)
        today = timezone.localdate()
        bundles = demo_bundles(count=patient_count, today=today)
        for patient_id, payload in bundles:
            fhir_import(source=source, payload=payload, origin=f"demo {patient_id}", actor=None)
        patient_ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(patient_ids), 500):
            care_gaps_recompute(patient_ids=patient_ids[start : start + 500], as_of=today)
        return len(bundles)

    # --- patients and cases -------------------------------------------------------------

    def _patients(self, patient_count: int) -> int:
        rng = random.Random(SEED)
        fakers = {code: Faker(locale) for code, locale in FAKER_LOCALES.items()}
        for index, faker in enumerate(fakers.values()):
            faker.seed_instance(SEED + index)
        clinics = list(Clinic.objects.filter(code__in=[c for c, _ in CLINICS]))
        programs = {p.code: p for p in ScreeningProgram.objects.prefetch_related("modalities")}
        barrier_types = list(BarrierType.objects.filter(active=True))
        staff = {c.pk: User.objects.get(username=f"clinic-{c.code}") for c in clinics}
        manager = User.objects.get(username="manager")
        today = timezone.localdate()

        for number in range(patient_count):
            clinic = clinics[number % len(clinics)]
            program = programs[_pick(rng, PROGRAM_MIX)]
            primary, extras, languages = _pick(
                rng, [((p, e, langs), share) for share, p, e, langs in POPULATION]
            )
            language = _pick(rng, languages)
            categories = [primary] + (
                [rng.choice(extras)] if extras and rng.random() < 0.15 else []
            )
            faker = fakers[language]
            sex = "female" if program.sex == "female" or rng.random() < 0.55 else "male"
            age = rng.randint(program.min_age, program.max_age)
            birth_date = today - dt.timedelta(days=age * 365 + rng.randint(30, 330))
            proficiency = (
                "very_well"
                if language == "en"
                else rng.choice(["well", "not_well", "not_well", "not_at_all"])
            )
            data = PatientInput(
                mrn=f"{clinic.code[:3].upper()}{100000 + number}",
                given_name=faker.first_name_female()
                if sex == "female"
                else faker.first_name_male(),
                family_name=faker.last_name(),
                birth_date=birth_date,
                sex=sex,
                preferred_language=language,
                language_source="self_reported",
                english_proficiency=proficiency,
                interpreter_needed=proficiency in {"not_well", "not_at_all"},
                race_ethnicity=categories,
                race_ethnicity_source="self_reported",
                phones=[PhoneInput(number=f"+1617555{number:04d}", kind="mobile")]
                + ([PhoneInput(number=f"+1781555{number:04d}", kind="home")] if number % 3 else []),
                sms_consent=rng.random() < 0.7,
                email=f"patient{number}@example.org" if rng.random() < 0.5 else "",
                city=rng.choice(["Chelsea", "Revere", "Boston", "Everett", "Lynn"]),
                state="MA",
                insurance_type=rng.choice(
                    ["medicaid", "medicaid", "medicare", "commercial", "uninsured", "dual"]
                ),  # fmt: skip
                smoking_status="current" if program.code == "lung" else "unknown",
                smoking_pack_years=rng.randint(20, 50) if program.code == "lung" else None,
            )
            stage = _pick(rng, STAGES)
            if stage == CaseStatus.NEW:
                patient, _ = patient_find_or_create(clinic=clinic, data=data)
                case, _ = case_opening.case_open(
                    patient=patient, program=program, actor=manager,
                    source="care-gap list", auto_assign=False,
                )  # fmt: skip
            else:
                referral = referral_create(
                    clinic=clinic,
                    program=program,
                    patient_data=data,
                    referring_clinician=rng.choice(CLINICIANS),
                    reason=f"Overdue for {program.name.lower()} screening",
                    actor=staff[clinic.pk],
                )
                case = referral.case
                self._advance(case, stage, rng, barrier_types)
            demo_timeline.case_backdate(case, stage, rng, today)

        self._worklist_reasons(clinics[0], programs, staff[clinics[0].pk], today)
        self._messages(clinics[0], programs, staff[clinics[0].pk], today)
        demo_interpreters.seed_interpreters(now=timezone.now())
        demo_outreach.call_guide_edited(programs)
        demo_clinic.clinic_loop(clinics[0], programs["cervical"], staff[clinics[0].pk], today)
        demo_outreach.morning_plan(clinics[0], programs, staff[clinics[0].pk], today)
        # What the daily and hourly tasks would have done this morning.
        follow_up_reminders_create(today=today)
        case_tasks_scan()
        recall_messages_schedule(today=today)
        return patient_count

    def _advance(self, case: NavigationCase, stage: str, rng: random.Random, barrier_types):
        actor = case.navigator.user
        if stage == CaseStatus.ASSIGNED:
            return
        attempts = rng.randint(1, 4)
        for attempt in range(attempts):
            reached = attempt == attempts - 1 and stage not in {CaseStatus.CLOSED_UNREACHABLE}
            attempt_log(
                case=case,
                channel=rng.choice(["phone", "phone", "sms", "letter"]) if not reached else "phone",
                outcome=Outcome.REACHED
                if reached
                else rng.choice(["no_answer", "left_voicemail", "no_answer", "wrong_number"]),
                interpreter_used=case.patient.interpreter_needed and reached,
                note="Synthetic demo attempt.",
                actor=actor,
            )
        for barrier_type in rng.sample(barrier_types, k=rng.choice([0, 1, 1, 2])):
            barrier = barriers.barrier_add(case=case, barrier_type=barrier_type, actor=actor)
            if stage in {CaseStatus.COMPLETED, CaseStatus.CLOSED} or rng.random() < 0.3:
                barriers.barrier_update(
                    barrier=barrier, status="resolved", action="Arranged with the patient.",
                    actor=actor,
                )  # fmt: skip
        if stage in {CaseStatus.CLOSED_UNREACHABLE, CaseStatus.DECLINED, CaseStatus.INELIGIBLE}:
            # Only a manager closes a case as unreachable.
            closer = (
                User.objects.get(username="manager")
                if stage == CaseStatus.CLOSED_UNREACHABLE
                else actor
            )
            cases.case_transition(case=case, to_status=stage, actor=closer, note="demo")
            return
        if stage == CaseStatus.CONTACTING:
            return
        modality = rng.choice(
            [
                m
                for m in case.program.modalities.all()
                if m.min_age is None and m.role == ModalityRole.SCREENING
            ]
        )
        appointments.appointment_book(
            case=case,
            scheduled_at=clinic_hours(timezone.localdate() + dt.timedelta(days=rng.randint(2, 20))),
            site=rng.choice(SITES),
            modality=modality,
            actor=actor,
        )
        if stage == CaseStatus.SCHEDULED:
            return
        demo_results.result_record(
            case=case, modality=modality, actor=actor, rng=rng, finished=True
        )
        case.refresh_from_db()
        if stage == CaseStatus.CLOSED and case.status == CaseStatus.COMPLETED:
            cases.case_transition(case=case, to_status=CaseStatus.CLOSED, actor=actor)

    # --- the demo navigator's worklist ----------------------------------------------------

    def _worklist_reasons(self, clinic, programs, referrer: User, today: dt.date) -> None:
        """Nine more of María's patients, one for each reason a case tops the worklist
        (navigator/worklist/rules.py), so that the demo shows every one of them whatever
        the random mix above gave her. Each is walked there through the services."""
        maria = NavigatorProfile.objects.get(user__username="maria")
        actor = maria.user
        faker = Faker("es_MX")
        faker.seed_instance(SEED + 100)
        now = timezone.now()
        colorectal = programs["colorectal"]

        def referred(index: int, program=colorectal) -> NavigationCase:
            sex = "female" if index % 2 == 0 or program.sex == "female" else "male"
            referral = referral_create(
                clinic=clinic,
                program=program,
                patient_data=PatientInput(
                    mrn=f"{clinic.code[:3].upper()}9{index:05d}",
                    given_name=faker.first_name_female()
                    if sex == "female"
                    else faker.first_name_male(),
                    family_name=faker.last_name(),
                    birth_date=today - dt.timedelta(days=365 * (52 + index) + 40),
                    sex=sex,
                    preferred_language="es",
                    english_proficiency="not_well",
                    interpreter_needed=True,
                    race_ethnicity=["hispanic"],
                    phones=[PhoneInput(number=f"+1857555{index:04d}", kind="mobile")],
                    sms_consent=True,
                    city="Chelsea",
                    state="MA",
                ),
                referring_clinician="Dr. Alvarez",
                reason=f"Overdue for {program.name.lower()} screening",
                actor=referrer,
            )
            return assignment.case_assign(
                case=referral.case, navigator=maria, actor=None, reason="demo"
            )

        # (a) An abnormal FIT and no diagnostic colonoscopy booked yet.
        case = referred(1)
        attempt_log(case=case, channel="phone", outcome=Outcome.REACHED, actor=actor,
                    attempted_at=now - dt.timedelta(days=20))  # fmt: skip
        screenings.case_record_screening(
            case=case,
            modality=colorectal.modalities.get(code="fit"),
            performed_on=today - dt.timedelta(days=12),
            result="abnormal",
            actor=actor,
        )
        # Each state of an abnormal result, from overdue to handed to treatment.
        demo_results.safety_net_states(
            referred=referred,
            colorectal=colorectal,
            maria=actor,
            manager=User.objects.get(username="manager"),
            today=today,
            first_index=10,
        )
        # (b) A colonoscopy in three days, and nobody has called about the prep.
        case = referred(2)
        attempt_log(case=case, channel="phone", outcome=Outcome.REACHED, actor=actor,
                    attempted_at=now - dt.timedelta(days=6))  # fmt: skip
        appointments.appointment_book(
            case=case,
            scheduled_at=clinic_hours(today + dt.timedelta(days=3)),
            site=SITES[0],
            modality=colorectal.modalities.get(code="colonoscopy"),
            actor=actor,
        )
        # (c) Voicemail on Monday; the patient texted back this morning.
        case = referred(3)
        attempt_log(case=case, channel="phone", outcome=Outcome.LEFT_VOICEMAIL, actor=actor,
                    attempted_at=now - dt.timedelta(days=2))  # fmt: skip
        attempt_log(case=case, channel="sms", direction="inbound", outcome=Outcome.REACHED,
                    actor=actor, attempted_at=now - dt.timedelta(hours=3))  # fmt: skip
        # (d) No answer last week; the follow-up came due two days ago.
        case = referred(4, programs["breast"])
        attempt_log(case=case, channel="phone", outcome=Outcome.NO_ANSWER, actor=actor,
                    attempted_at=now - dt.timedelta(days=8))  # fmt: skip
        NavigationCase.objects.filter(pk=case.pk).update(
            next_follow_up=today - dt.timedelta(days=2)
        )
        # (e) Assigned this morning; the first call is planned for tomorrow.
        case = referred(5)
        follow_up.case_set_follow_up(case=case, on=today + dt.timedelta(days=1), actor=actor)
        # (f)-(i) A diabetes control case topped by each of its reasons.
        demo_control.control_reasons(
            referred=referred,
            clinic=clinic,
            diabetes=programs["diabetes"],
            maria=actor,
            today=today,
            first_index=6,
        )

    def _messages(self, clinic, programs, referrer: User, today: dt.date) -> None:
        """Two more of María's patients for the messages: a FIT kit mailed two weeks ago
        (its return reminders on the case), and one whose yearly FIT comes due again
        within the month (the recall goes out as soon as the worker's sweep runs, at an
        allowed hour in her time zone, and the console prints it)."""
        maria = NavigatorProfile.objects.get(user__username="maria")
        colorectal = programs["colorectal"]
        fit = colorectal.modalities.get(code="fit")

        def patient_data(index: int, **extra) -> PatientInput:
            return PatientInput(
                mrn=f"{clinic.code[:3].upper()}8{index:05d}",
                given_name=["Lucía", "Graça"][index % 2],
                family_name=["Ramírez", "Ferreira"][index % 2],
                birth_date=today - dt.timedelta(days=365 * (58 + index) + 17),
                sex="female",
                phones=[PhoneInput(number=f"+1617555{index + 7000:04d}", kind="mobile")],
                sms_consent=True,
                city="Chelsea",
                state="MA",
                **extra,
            )

        # (f) A FIT kit mailed 13 days ago: tomorrow, and in two weeks, a reminder to send it.
        referral = referral_create(
            clinic=clinic,
            program=colorectal,
            patient_data=patient_data(1, preferred_language="pt", english_proficiency="not_well"),
            referring_clinician="Dr. Alvarez",
            reason="Overdue for colorectal cancer screening; prefers a home test",
            actor=referrer,
        )
        case = assignment.case_assign(
            case=referral.case, navigator=maria, actor=None, reason="demo"
        )
        attempt_log(case=case, channel="phone", outcome=Outcome.REACHED, actor=maria.user,
                    attempted_at=timezone.now() - dt.timedelta(days=13))  # fmt: skip
        screenings.kit_mail(
            case=case, modality=fit, mailed_on=today - dt.timedelta(days=13), actor=maria.user
        )
        # (g) A normal FIT 11 months ago, on her clinic's record: due again next month,
        # and no case open for it, so the recall rule writes to her.
        referral = referral_create(
            clinic=clinic,
            program=programs["breast"],
            patient_data=patient_data(2, preferred_language="es"),
            referring_clinician="Dr. Alvarez",
            reason="Overdue for breast cancer screening",
            actor=referrer,
        )
        assignment.case_assign(case=referral.case, navigator=maria, actor=None, reason="demo")
        # The EHR's record of that test (as the FHIR import would have written it).
        ScreeningEvent.objects.create(
            patient=referral.patient,
            modality=fit,
            performed_on=today - dt.timedelta(days=345),
            result="normal",
        )
        care_gaps_recompute(patient_ids=[referral.patient_id], as_of=today)
