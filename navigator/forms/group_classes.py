"""Forms of the group class pages (issue 16): a manager's new series and its sessions,
enrolling a case's patient, ending an enrolment, and attendance (make-ups included).
Each validates the input and leaves the rules (capacity, place or link, a session in
the future, who takes attendance) to the one service it feeds."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet

from navigator.forms.base import (
    CaseForm,
    DateTimeLocalInput,
    EquiNavForm,
    model_choice,
    not_too_far_ahead,
)
from navigator.models import (
    CASEWORK_ROLES,
    GROUP_MAX_CAPACITY,
    GROUP_MIN_CAPACITY,
    MAX_SESSION_MINUTES,
    AttendanceStatus,
    EnrolmentStatus,
    GroupEnrolment,
    GroupSession,
    NavigationCase,
    Role,
    SelfCareBehaviour,
    User,
)
from patients.languages import common_language_choices
from patients.models import ProgramKind, ScreeningProgram


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class CaseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: NavigationCase) -> str:
        return f"{obj.patient.family_name}, {obj.patient.given_name} ({obj.patient.mrn})"


class SessionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: GroupSession) -> str:
        return f"{obj.series.name}, session {obj.number} ({obj.starts_at:%Y-%m-%d})"


class GroupSeriesForm(EquiNavForm):
    program = forms.ModelChoiceField(
        label="Programme",
        queryset=ScreeningProgram.objects.none(),
        empty_label=None,
        help_text="A control programme (such as diabetes): group classes are "
        "self-management education.",
        error_messages={
            "invalid_choice": "Choose an active control programme (such as diabetes): "
            "group classes are for control programmes only."
        },
    )
    name = forms.CharField(label="Name", max_length=120)
    curriculum = forms.SlugField(
        label="Curriculum",
        max_length=48,
        help_text="Lower-case words joined by hyphens (e.g. dsmes-basics). A missed session "
        "is made up in another series of the same curriculum.",
    )
    language = forms.ChoiceField(label="Language", choices=common_language_choices)
    facilitator = PersonChoiceField(
        label="Facilitator", queryset=User.objects.none(), empty_label="Choose who leads it…"
    )
    capacity = forms.IntegerField(
        label="Seats",
        min_value=GROUP_MIN_CAPACITY,
        max_value=GROUP_MAX_CAPACITY,
        initial=12,
        help_text=f"{GROUP_MIN_CAPACITY} to {GROUP_MAX_CAPACITY} patients "
        "(Medicare's group size for diabetes self-management training).",
    )
    location = forms.CharField(label="Place", max_length=200, required=False)
    video_link = forms.URLField(
        label="Video link",
        required=False,
        assume_scheme="https",
        help_text="A place, a video link, or both.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Control programmes only: a screening programme has no class series.
        model_choice(self, "program").queryset = ScreeningProgram.objects.filter(
            active=True, kind=ProgramKind.CONTROL
        )
        # Who may lead a class: the care team (navigators and coaches, managers).
        model_choice(self, "facilitator").queryset = User.objects.filter(
            is_active=True, role__in=(*CASEWORK_ROLES, Role.MANAGER)
        ).order_by("first_name", "last_name", "pk")


class GroupSessionForm(EquiNavForm):
    number = forms.IntegerField(label="Session number", min_value=1, max_value=99)
    starts_at = forms.DateTimeField(
        label="Starts", widget=DateTimeLocalInput, validators=[not_too_far_ahead]
    )
    duration_minutes = forms.IntegerField(
        label="Minutes", min_value=1, max_value=MAX_SESSION_MINUTES, initial=90
    )
    topics = forms.MultipleChoiceField(
        label="Topics (ADCES7)",
        choices=SelfCareBehaviour.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class GroupEnrolForm(EquiNavForm):
    case = CaseChoiceField(
        label="Patient",
        queryset=NavigationCase.objects.none(),
        empty_label="Choose a patient from your caseload…",
        error_messages={"invalid_choice": "Choose one of the listed patients."},
    )
    service_error_fields = {"series": "case"}

    def __init__(self, *args, cases: QuerySet[NavigationCase], by_number: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        field = model_choice(self, "case")
        field.queryset = cases
        if by_number:
            # A manager may enrol any open case of the programme: thousands, too many
            # for a menu. The case's number is checked against the same cases.
            field.widget = forms.NumberInput(attrs={"min": 1, "inputmode": "numeric"})
            field.label = "Case number"
            field.help_text = "From the case's page (Case #…)."
            field.error_messages["invalid_choice"] = (
                "No open case of this programme has that number, or its patient is on the roster."
            )


class GroupEnrolmentStatusForm(CaseForm):
    status = forms.ChoiceField(
        choices=[
            (EnrolmentStatus.WITHDRAWN, "Withdraw"),
            (EnrolmentStatus.COMPLETED, "Completed the series"),
        ],
        error_messages={"required": "Choose withdraw or completed."},
    )


class GroupAttendanceForm(EquiNavForm):
    enrolment = forms.ModelChoiceField(
        queryset=GroupEnrolment.objects.none(),
        error_messages={"invalid_choice": "This patient is not on the roster."},
    )
    status = forms.ChoiceField(
        label="Attendance",
        choices=AttendanceStatus.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose attended, absent or excused."},
    )
    minutes = forms.IntegerField(
        label="Minutes",
        required=False,
        min_value=1,
        max_value=MAX_SESSION_MINUTES,
        help_text="Empty: the whole session.",
    )
    makeup_for = SessionChoiceField(
        label="Makes up",
        queryset=GroupSession.objects.none(),
        required=False,
        empty_label="Not a make-up",
    )

    def __init__(
        self,
        *args,
        enrolments: QuerySet[GroupEnrolment],
        makeup_sessions: QuerySet[GroupSession] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        model_choice(self, "enrolment").queryset = enrolments
        model_choice(self, "makeup_for").queryset = (
            makeup_sessions if makeup_sessions is not None else GroupSession.objects.none()
        )
