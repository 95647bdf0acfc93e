"""The referral form: a clinic refers a patient to a screening program."""

from __future__ import annotations

import re
import zoneinfo

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from phonenumber_field.formfields import PhoneNumberField

from navigator.forms.base import DateInput, EquiNavForm, choice, model_choice
from navigator.worklist.filters import parse_search
from patients.languages import common_language_choices, validate_language_code
from patients.models import (
    CareGapStatus,
    Clinic,
    DemographicSource,
    EnglishProficiency,
    InsuranceType,
    LanguageStatus,
    PhoneType,
    RaceEthnicity,
    ScreeningProgram,
    Sex,
    SmokingStatus,
    validate_not_in_future,
    validate_time_zone,
)
from patients.selectors import ANY_GAP
from patients.services.patients import PatientInput, PhoneInput
from patients.services.program_rules import ExclusionRuleChange, ModalityRuleChange

PHONE_SLOTS = (1, 2)

US_TIME_ZONES = [
    ("America/New_York", "Eastern (New York)"),
    ("America/Chicago", "Central (Chicago)"),
    ("America/Denver", "Mountain (Denver)"),
    ("America/Phoenix", "Mountain, no DST (Phoenix)"),
    ("America/Los_Angeles", "Pacific (Los Angeles)"),
    ("America/Anchorage", "Alaska (Anchorage)"),
    ("Pacific/Honolulu", "Hawaii (Honolulu)"),
    ("America/Puerto_Rico", "Atlantic (Puerto Rico)"),
]


def time_zone_choices() -> list:
    common = list(US_TIME_ZONES)
    if settings.TIME_ZONE not in {zone for zone, _ in common}:
        common.insert(0, (settings.TIME_ZONE, settings.TIME_ZONE))
    listed = {zone for zone, _ in common}
    others = sorted(zone for zone in zoneinfo.available_timezones() if zone not in listed)
    return [("United States", common), ("Other time zones", [(z, z) for z in others])]


def _with_blank(choices, label: str) -> list:
    return [("", label), *choices]


# Who answered, as a person filling in the form can know it ("ehr_unstated" is for feeds).
ANSWERED_BY = [
    (DemographicSource.SELF_REPORTED, "The patient"),
    (DemographicSource.PROXY, "A family member or caregiver"),
    (DemographicSource.OBSERVER, "Staff, without asking"),
]
LANGUAGE_ANSWERS = [
    (LanguageStatus.RECORDED, "The language above"),
    (LanguageStatus.DECLINED, "The patient declined to say"),
    (LanguageStatus.UNKNOWN, "Asked, but not known"),
    (LanguageStatus.NOT_ASKED, "Not asked"),
]


def _written_language_choices() -> list[tuple[str, str]]:
    return [("", "Same as the preferred language"), *common_language_choices()]


class ReferralForm(EquiNavForm):
    # The referral
    clinic = forms.ModelChoiceField(
        queryset=Clinic.objects.none(), empty_label="Choose a clinic…", label="Referring clinic"
    )
    program = forms.ModelChoiceField(
        queryset=ScreeningProgram.objects.none(),
        empty_label="Choose a program…",
        label="Screening program",
    )
    referring_clinician = forms.CharField(max_length=200)
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    eligibility_override_reason = forms.CharField(
        label="Refer outside the program's criteria, because…",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text=(
            "Only if the patient is outside the program's criteria and should be screened "
            "anyway (e.g. cervical screening for a trans man with a cervix): why, in a few "
            "words. Leave empty otherwise."
        ),
    )

    # The patient
    mrn = forms.CharField(label="MRN", max_length=64, help_text="Medical record number.")
    given_name = forms.CharField(max_length=100)
    family_name = forms.CharField(max_length=100)
    birth_date = forms.DateField(
        label="Date of birth", widget=DateInput, validators=[validate_not_in_future]
    )
    sex = forms.ChoiceField(choices=_with_blank(Sex.choices, "Choose…"))

    # Language
    preferred_language = forms.ChoiceField(
        label="Preferred language", choices=common_language_choices, initial="en"
    )
    preferred_language_other = forms.CharField(
        label="Other language code",
        required=False,
        max_length=8,
        validators=[validate_language_code],
        help_text="Only if the language is not listed: its ISO 639 code, e.g. 'yo' or 'mh'.",
    )
    written_language = forms.ChoiceField(
        label="Written language",
        required=False,
        choices=_written_language_choices,
        help_text="What letters and texts are written in, if not the preferred language.",
    )
    language_status = forms.ChoiceField(
        label="Language answer",
        required=False,  # left out (an older client): the language above is the answer
        choices=LANGUAGE_ANSWERS,
        initial=LanguageStatus.RECORDED,
        help_text="Unless it is the language above, no language is recorded (letters fall "
        "back to English).",
    )
    language_source = forms.ChoiceField(
        label="Language given by",
        required=False,  # left out: nobody said (stored as "ehr_unstated")
        choices=ANSWERED_BY,
        initial=DemographicSource.SELF_REPORTED,
    )
    english_proficiency = forms.ChoiceField(
        label="Speaks English", choices=EnglishProficiency.choices, initial="unknown"
    )
    interpreter_needed = forms.BooleanField(required=False, label="Needs an interpreter")

    # Demographics and coverage
    race_ethnicity = forms.MultipleChoiceField(
        label="Race and ethnicity",
        required=False,
        choices=RaceEthnicity.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="As the patient describes themself; choose all that apply.",
    )
    race_ethnicity_source = forms.ChoiceField(
        label="Race and ethnicity given by",
        required=False,  # left out: nobody said (stored as "ehr_unstated")
        choices=ANSWERED_BY,
        initial=DemographicSource.SELF_REPORTED,
        help_text="Ignored when no box is ticked (never recorded).",
    )
    insurance_type = forms.ChoiceField(
        label="Insurance", choices=InsuranceType.choices, initial="unknown"
    )
    smoking_status = forms.ChoiceField(choices=SmokingStatus.choices, initial="unknown")
    smoking_pack_years = forms.IntegerField(
        label="Pack-years",
        required=False,
        min_value=0,
        max_value=300,
        help_text="Needed for lung screening.",
    )

    # Contact
    phone_1_number = PhoneNumberField(region="US", required=False, label="Phone 1")
    phone_1_kind = forms.ChoiceField(label="Phone 1 type", choices=PhoneType.choices)
    phone_2_number = PhoneNumberField(region="US", required=False, label="Phone 2")
    phone_2_kind = forms.ChoiceField(label="Phone 2 type", choices=PhoneType.choices)
    sms_consent = forms.BooleanField(required=False, label="Consents to text messages (SMS)")
    best_contact_times = forms.CharField(
        label="Best time to call",
        required=False,
        max_length=200,
        help_text="When the patient is easiest to reach, e.g. “weekday mornings” or “after 6 pm”.",
    )
    email = forms.EmailField(required=False)
    address_line1 = forms.CharField(label="Address", required=False, max_length=200)
    address_line2 = forms.CharField(label="Address line 2", required=False, max_length=200)
    city = forms.CharField(required=False, max_length=100)
    state = forms.CharField(required=False, max_length=50)
    postal_code = forms.CharField(label="ZIP code", required=False, max_length=20)
    time_zone = forms.ChoiceField(choices=time_zone_choices, validators=[validate_time_zone])

    def __init__(
        self,
        *args,
        programs: QuerySet[ScreeningProgram],
        clinics: QuerySet[Clinic] | None = None,
        fixed_clinic: Clinic | None = None,
        **kwargs,
    ):
        kwargs.setdefault("initial", {"time_zone": settings.TIME_ZONE})
        super().__init__(*args, **kwargs)
        self.fixed_clinic = fixed_clinic
        model_choice(self, "program").queryset = programs
        if fixed_clinic is not None:
            # Clinic staff refer for their own clinic only.
            del self.fields["clinic"]
        else:
            model_choice(self, "clinic").queryset = (
                clinics if clinics is not None else Clinic.objects.none()
            )
        self._phone_slots: list[int] = []

    # Field groups, for the template's fieldsets.
    def group(self, *names: str) -> list[forms.BoundField]:
        return [self[name] for name in names if name in self.fields]

    @property
    def referral_fields(self):
        return self.group(
            "clinic", "program", "referring_clinician", "reason", "eligibility_override_reason"
        )

    @property
    def patient_fields(self):
        return self.group("mrn", "given_name", "family_name", "birth_date", "sex")

    @property
    def language_fields(self):
        return self.group(
            "preferred_language",
            "preferred_language_other",
            "language_status",
            "language_source",
            "written_language",
            "english_proficiency",
            "interpreter_needed",
        )

    @property
    def contact_fields(self):
        return self.group(
            "phone_1_number",
            "phone_1_kind",
            "phone_2_number",
            "phone_2_kind",
            "sms_consent",
            "best_contact_times",
            "email",
        )

    @property
    def address_fields(self):
        return self.group(
            "address_line1", "address_line2", "city", "state", "postal_code", "time_zone"
        )

    @property
    def background_fields(self):
        return self.group(
            "race_ethnicity", "race_ethnicity_source", "insurance_type", "smoking_status",
            "smoking_pack_years",
        )  # fmt: skip

    @property
    def clinic_choice(self) -> Clinic:
        return self.fixed_clinic or self.cleaned_data["clinic"]

    def clean_language_status(self) -> str:
        return self.cleaned_data["language_status"] or LanguageStatus.RECORDED

    def clean_preferred_language_other(self) -> str:
        return self.cleaned_data["preferred_language_other"].strip().lower()

    def patient_input(self) -> PatientInput:
        data = self.cleaned_data
        phones = []
        self._phone_slots = []
        for slot in PHONE_SLOTS:
            number = data.get(f"phone_{slot}_number")
            if number:
                phones.append(PhoneInput(number=number.as_e164, kind=data[f"phone_{slot}_kind"]))
                self._phone_slots.append(slot)
        return PatientInput(
            mrn=data["mrn"],
            given_name=data["given_name"],
            family_name=data["family_name"],
            birth_date=data["birth_date"],
            sex=data["sex"],
            # A language declined, unknown or not asked is no language: the select's
            # choice (English by default) is not an answer then.
            preferred_language=(
                data["preferred_language_other"] or data["preferred_language"]
                if data["language_status"] == LanguageStatus.RECORDED
                else ""
            ),
            language_status=data["language_status"],
            language_source=data["language_source"],
            written_language=data["written_language"],
            english_proficiency=data["english_proficiency"],
            interpreter_needed=data["interpreter_needed"],
            race_ethnicity=list(data["race_ethnicity"]),
            race_ethnicity_source=data["race_ethnicity_source"],
            phones=phones,
            sms_consent=data["sms_consent"],
            best_contact_times=data["best_contact_times"],
            email=data["email"],
            address_line1=data["address_line1"],
            address_line2=data["address_line2"],
            city=data["city"],
            state=data["state"],
            postal_code=data["postal_code"],
            time_zone=data["time_zone"],
            insurance_type=data["insurance_type"],
            smoking_status=data["smoking_status"],
            smoking_pack_years=data["smoking_pack_years"],
        )

    def service_error_field(self, key: str, message: str) -> str | None:
        if key == "phones":
            # "Phone 2: …" is about the second number sent, which may sit in either slot.
            match = re.match(r"Phone (\d+):", message)
            index = int(match.group(1)) - 1 if match else 0
            slot = self._phone_slots[index] if index < len(self._phone_slots) else 1
            return f"phone_{slot}_number"
        if key == "preferred_language" and self.cleaned_data.get("preferred_language_other"):
            return "preferred_language_other"
        return super().service_error_field(key, message)


CONTROL_FORM_FIELDS = (
    "target_value",
    "poor_control_value",
    "lab_interval_months",
    "lab_interval_above_target_months",
)


class ProgramRulesForm(forms.Form):
    """A program's adjustable rules; each modality and exclusion gets its own fields."""

    min_age = forms.IntegerField(min_value=0, max_value=120, label="Youngest age")
    max_age = forms.IntegerField(min_value=0, max_value=120, label="Oldest age")
    due_soon_days = forms.IntegerField(
        min_value=0, max_value=365, label="“Due soon” window (days before the due date)"
    )
    active = forms.BooleanField(required=False, label="Program active (cases open for it)")
    summary = forms.CharField(
        max_length=300,
        label="What changed, and why",
        help_text="Kept with this version of the rules.",
    )

    def __init__(self, *args, program, **kwargs):
        super().__init__(*args, **kwargs)
        self.program = program
        self.modalities = list(program.modalities.select_related("concept").order_by("code"))
        self.exclusions = list(program.exclusions.prefetch_related("all_of").order_by("code"))
        if not self.is_bound:
            for name in ("min_age", "max_age", "due_soon_days", "active"):
                self.initial[name] = getattr(program, name)
        if program.is_control:
            # A control programme's own numbers (its unit, condition and labs are
            # changed in the admin site: a new unit means new numbers too).
            unit = program.target_unit
            self.fields["target_value"] = forms.DecimalField(
                min_value=0,
                max_digits=7,
                decimal_places=2,
                initial=program.target_value,
                label=f"Target: below ({unit})",
            )
            self.fields["poor_control_value"] = forms.DecimalField(
                min_value=0,
                max_digits=7,
                decimal_places=2,
                initial=program.poor_control_value,
                label=f"Poor control: above ({unit})",
            )
            self.fields["lab_interval_months"] = forms.IntegerField(
                min_value=1,
                max_value=24,
                initial=program.lab_interval_months,
                label="Next lab after one at target (months)",
            )
            self.fields["lab_interval_above_target_months"] = forms.IntegerField(
                min_value=1,
                max_value=24,
                initial=program.lab_interval_above_target_months,
                label="Next lab after one not at target (months)",
            )
        for modality in self.modalities:
            self.fields[f"modality_{modality.code}_interval"] = forms.IntegerField(
                min_value=1,
                max_value=240,
                initial=modality.interval_months,
                label=f"{modality.name}: interval (months)",
            )
            self.fields[f"modality_{modality.code}_active"] = forms.BooleanField(
                required=False, initial=modality.active, label=f"{modality.name} counts"
            )
        for exclusion in self.exclusions:
            self.fields[f"exclusion_{exclusion.code}_lookback"] = forms.IntegerField(
                required=False,
                min_value=1,
                max_value=1200,
                initial=exclusion.lookback_months,
                label=f"{exclusion.name}: look-back (months; blank = any time)",
            )
            self.fields[f"exclusion_{exclusion.code}_active"] = forms.BooleanField(
                required=False, initial=exclusion.active, label=f"{exclusion.name} applies"
            )

    def modality_fields(self):
        return [
            (m, self[f"modality_{m.code}_interval"], self[f"modality_{m.code}_active"])
            for m in self.modalities
        ]

    def exclusion_fields(self):
        return [
            (e, self[f"exclusion_{e.code}_lookback"], self[f"exclusion_{e.code}_active"])
            for e in self.exclusions
        ]

    def clean(self):
        data = super().clean()
        if (
            data.get("min_age") is not None
            and data.get("max_age") is not None
            and data["min_age"] > data["max_age"]
        ):
            self.add_error("max_age", "The oldest age is below the youngest.")
        target, poor = data.get("target_value"), data.get("poor_control_value")
        if target is not None and poor is not None and target > poor:
            self.add_error(
                "poor_control_value", "The poor-control threshold cannot be below the target."
            )
        return data

    def control_fields(self):
        return [self[name] for name in CONTROL_FORM_FIELDS if name in self.fields]

    def changes(self):
        """The arguments of services.program_rules_update."""
        data = self.cleaned_data
        return {
            "fields": {
                n: data[n]
                for n in ("min_age", "max_age", "due_soon_days", "active", *CONTROL_FORM_FIELDS)
                if n in self.fields
            },
            "modalities": [
                ModalityRuleChange(
                    code=m.code,
                    interval_months=data[f"modality_{m.code}_interval"],
                    active=data[f"modality_{m.code}_active"],
                )
                for m in self.modalities
            ],
            "exclusions": [
                ExclusionRuleChange(
                    code=e.code,
                    lookback_months=data[f"exclusion_{e.code}_lookback"],
                    clear_lookback=data[f"exclusion_{e.code}_lookback"] is None,
                    active=data[f"exclusion_{e.code}_active"],
                )
                for e in self.exclusions
            ],
        }


class CareGapFilterForm(forms.Form):
    program = forms.ChoiceField(required=False)
    # The list opens on every gap, a control programme's too, not on "overdue" alone.
    any_gap = (ANY_GAP, "Any care gap (overdue, untested, no result, poor control)")
    status = forms.ChoiceField(
        required=False, choices=[any_gap, ("", "Any status"), *CareGapStatus.choices]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = [("", "Any program")] + [
            (p.code, p.name) for p in ScreeningProgram.objects.order_by("name")
        ]


class ReferralUploadForm(EquiNavForm):
    """A CSV of referrals, and what to do if some rows are bad.

    The default imports nothing when any row is bad: the clinic fixes its
    spreadsheet and uploads the whole file again, and no referral goes out
    twice or half-done. Either way a second upload skips rows already imported.
    """

    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, comma-separated, one referral per row, the header on line 1.",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )
    mode = forms.ChoiceField(
        label="If some rows have problems",
        # ReferralUpload.Mode's values; the service refuses any other.
        choices=[
            ("all_or_nothing", "Import nothing, so that I can fix the file and upload it again"),
            ("good_rows", "Import the good rows now, and list the others"),
        ],
        initial="all_or_nothing",
        widget=forms.RadioSelect,
        help_text="Either way, rows already imported by an earlier upload are skipped.",
    )
    clinic = forms.ModelChoiceField(
        queryset=Clinic.objects.none(), empty_label="Choose a clinic…", label="Referring clinic"
    )

    def __init__(self, *args, fixed_clinic: Clinic | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fixed_clinic = fixed_clinic
        if fixed_clinic is not None:
            # Clinic staff upload for their own clinic; a posted clinic is ignored.
            del self.fields["clinic"]
        else:
            self.fields["clinic"].queryset = Clinic.objects.filter(active=True).order_by("name")

    @property
    def clinic_choice(self) -> Clinic:
        return self.fixed_clinic or self.cleaned_data["clinic"]


# The largest id a database row can have (a bigint): beyond it, not an id at all.
MAX_ID = 2**63 - 1


class PatientMergeForm(EquiNavForm):
    """Which record to keep, and which to merge into it (both by id)."""

    survivor = forms.IntegerField(min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    duplicate = forms.IntegerField(
        min_value=1, max_value=MAX_ID, error_messages={"required": "Choose the record to merge."}
    )

    def service_error_field(self, key: str, message: str) -> str | None:
        # Both fields are chosen by button, not typed: a refusal is about the merge.
        return None

    def clean(self) -> dict:
        data = super().clean()
        if data.get("survivor") and data.get("survivor") == data.get("duplicate"):
            raise forms.ValidationError("Choose two different records to merge.")
        return data


class ReferralFilterForm(EquiNavForm):
    """The referral list's filters (in the address) and search (sent in the form body, so
    that a name, MRN or date of birth never lands in a logged URL)."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        help_text="Referral number, patient name, MRN, phone or date of birth (YYYY-MM-DD).",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    program = forms.ModelChoiceField(
        queryset=ScreeningProgram.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label="Any program",
        error_messages={"invalid_choice": "“%(value)s” is not a screening program."},
    )
    step = forms.ChoiceField(
        required=False,
        label="Step",
        choices=[],
        error_messages={"invalid_choice": "“%(value)s” is not a step of navigation."},
    )
    changed = forms.BooleanField(required=False, label="Changed since I last looked")

    def __init__(self, *args, steps: list[tuple[str, str]], searching: bool, **kwargs):
        super().__init__(*args, **kwargs)
        choice(self, "step").choices = [("", "Any step"), *steps]
        self.searching = searching

    def clean_q(self) -> str:
        text = self.cleaned_data.get("q") or ""
        if text and not self.searching:
            raise forms.ValidationError(
                "Search with the form: a search in the address would be kept in logs."
            )
        parse_search(text)  # a malformed birth date is refused here, with what is wrong
        return " ".join(text.split())


class DigestPreferenceForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="E-mail me a daily list of changes")
