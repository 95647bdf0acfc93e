from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from config.admin import ReadOnlyAdmin, SearchInBodyAdmin
from patients.models import (
    CareGap,
    Clinic,
    ClinicalResource,
    CodeConcept,
    ConceptCode,
    DataQualityWarning,
    FhirImport,
    FhirSource,
    Patient,
    PatientPhone,
    PatientRaceEthnicity,
    ProgramExclusion,
    Referral,
    ReferralUpload,
    RuleVersion,
    ScreeningEvent,
    ScreeningModality,
    ScreeningProgram,
    ValueSet,
    ValueSetCode,
)
from patients.mrn import mrn_normalise, patients_with_mrn
from patients.selectors import program_rules_snapshot
from patients.services.program_rules import program_rules_record_change


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "phone", "active"]
    list_filter = ["active"]
    search_fields = ["name", "code"]


class PatientPhoneInline(admin.TabularInline):
    """Numbers are added or marked bad here, never deleted: a deleted number would
    blank the phone of every contact attempt made to it (a clinical record)."""

    model = PatientPhone
    extra = 0
    can_delete = False


class PatientRaceEthnicityInline(admin.TabularInline):
    """Shown, not edited: the answers and `Patient.race_group` change together, only
    through `patients.services.patients.patient_race_set`."""

    model = PatientRaceEthnicity
    extra = 0
    fields = ["category"]
    readonly_fields = ["category"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PatientAdminForm(forms.ModelForm):
    """The admin's patient form keeps the one-patient-one-record rule of every other
    path: the MRN normalised, and refused if the clinic has it already, however typed.
    (No Meta: the admin builds it for Patient with the fields it shows.)"""

    def clean(self) -> dict:
        data = super().clean()
        mrn = mrn_normalise(data.get("mrn") or "")
        data["mrn"] = mrn
        clinic = data.get("clinic")
        if mrn and clinic is not None:
            taken = patients_with_mrn(Patient.objects.all(), clinic=clinic, mrn=mrn).exclude(
                pk=self.instance.pk
            )
            if taken.exists():
                self.add_error("mrn", f"{clinic} already has a patient with MRN {mrn}.")
        return data


@admin.register(Patient)
class PatientAdmin(SearchInBodyAdmin):
    form = PatientAdminForm
    list_display = ["family_name", "given_name", "mrn", "clinic", "birth_date", "sex",
                    "preferred_language", "interpreter_needed", "insurance_type"]  # fmt: skip
    list_filter = ["clinic", "sex", "preferred_language", "english_proficiency",
                   "interpreter_needed", "insurance_type", "race_ethnicities__category",
                   "sms_consent"]  # fmt: skip
    search_fields = ["mrn", "family_name", "given_name", "email", "phones__number"]
    date_hierarchy = "created_at"
    list_select_related = ["clinic"]
    readonly_fields = ["race_group"]
    inlines = [PatientRaceEthnicityInline, PatientPhoneInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A patient's record outlives every mistake in it: duplicates are merged
        # (patients.services.patients), never deleted; PostgreSQL refuses it too.
        return False


class ScreeningModalityInline(admin.TabularInline):
    model = ScreeningModality
    extra = 0


class VersionedRulesAdmin(admin.ModelAdmin):
    """Edits here change a program's care-gap rules: each one is recorded as a new version."""

    def _program_of(self, obj) -> ScreeningProgram | None:
        return obj if isinstance(obj, ScreeningProgram) else getattr(obj, "program", None)

    def save_model(self, request, obj, form, change):
        program = self._program_of(obj)
        if program is not None and program.pk:
            request._rules_before = program_rules_snapshot(
                ScreeningProgram.objects.get(pk=program.pk)
            )
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = getattr(request, "_rules_before", None)
        program = self._program_of(form.instance)
        if before is not None and program is not None:
            program_rules_record_change(
                program=program,
                actor=request.user,
                before=before,
                summary="Changed in the admin site",
            )


class ScreeningProgramAdminForm(forms.ModelForm):
    """The model's own checks (ScreeningProgram.clean) and the one it cannot make:
    a control programme follows at least one lab (a many-to-many, saved after it)."""

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == "control" and not data.get("lab_concepts"):
            self.add_error("lab_concepts", "A control programme follows at least one lab test.")
        if data.get("kind") == "screening" and data.get("lab_concepts"):
            self.add_error("lab_concepts", "Only a control programme follows lab tests.")
        return data


@admin.register(ScreeningProgram)
class ScreeningProgramAdmin(VersionedRulesAdmin):
    form = ScreeningProgramAdminForm
    filter_horizontal = ["lab_concepts"]
    list_display = ["name", "code", "kind", "min_age", "max_age", "sex", "min_pack_years",
                    "active", "rule_version"]  # fmt: skip
    list_filter = ["kind", "active", "sex"]
    search_fields = ["name", "code"]
    readonly_fields = ["rule_version"]
    inlines = [ScreeningModalityInline]


@admin.register(ScreeningModality)
class ScreeningModalityAdmin(VersionedRulesAdmin):
    list_display = ["name", "program", "code", "interval_months", "min_age", "active"]
    list_filter = ["program", "active"]
    search_fields = ["name", "code"]


@admin.register(ScreeningEvent)
class ScreeningEventAdmin(SearchInBodyAdmin, ReadOnlyAdmin):
    list_display = ["patient", "modality", "performed_on", "result", "case", "recorded_by"]
    list_filter = ["modality__program", "modality", "result"]
    search_fields = ["patient__mrn", "patient__family_name"]
    date_hierarchy = "performed_on"
    list_select_related = ["patient", "modality", "recorded_by"]
    raw_id_fields = ["patient", "case"]


@admin.register(Referral)
class ReferralAdmin(SearchInBodyAdmin, ReadOnlyAdmin):
    list_display = ["pk", "clinic", "patient", "program", "referring_clinician", "created_at",
                    "case_status"]  # fmt: skip
    list_filter = ["clinic", "program", "case__status"]
    search_fields = ["patient__mrn", "patient__family_name", "referring_clinician"]
    date_hierarchy = "created_at"
    list_select_related = ["clinic", "patient", "program", "case"]
    raw_id_fields = ["patient", "case"]

    @admin.display(description="case status", ordering="case__status")
    def case_status(self, referral):
        return referral.case.get_status_display()


# --- Codes and value sets ---------------------------------------------------------


class ConceptCodeInline(admin.TabularInline):
    model = ConceptCode
    extra = 0
    verbose_name = "starter code"
    verbose_name_plural = "starter codes (used until one of the official value sets is loaded)"


class CodeConceptChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        _attach_loaded_urls(self.result_list)


def _attach_loaded_urls(concepts) -> None:
    """Which of each concept's value sets are loaded, in one query for the whole page."""
    concepts = list(concepts)
    wanted = {url for concept in concepts for url in concept.value_set_urls or []}
    loaded = set(ValueSet.objects.filter(url__in=wanted).values_list("url", flat=True))
    for concept in concepts:
        concept.loaded_value_set_urls = [
            url for url in concept.value_set_urls or [] if url in loaded
        ]


def _loaded_urls(concept) -> list[str]:
    if not hasattr(concept, "loaded_value_set_urls"):
        _attach_loaded_urls([concept])
    return concept.loaded_value_set_urls


class CodeConceptForm(forms.ModelForm):
    class Meta:
        model = CodeConcept
        fields = ["key", "name", "kind", "description", "value_set_urls"]
        help_texts = {
            "value_set_urls": "A JSON list of the canonical URLs of the official value sets, "
            'e.g. ["http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.108.12.1020"].'
        }

    def clean_value_set_urls(self):
        urls = self.cleaned_data["value_set_urls"] or []
        if not isinstance(urls, list) or not all(isinstance(u, str) and u.strip() for u in urls):
            raise forms.ValidationError("Give a JSON list of value set URLs (strings).")
        return [url.strip() for url in urls]


@admin.register(CodeConcept)
class CodeConceptAdmin(admin.ModelAdmin):
    form = CodeConceptForm
    list_display = ["name", "key", "kind", "value_sets_loaded", "codes_in_use"]
    list_filter = ["kind"]
    search_fields = ["key", "name", "description", "codes__code"]
    fields = ["key", "name", "kind", "description", "value_set_urls", "value_sets"]
    readonly_fields = ["value_sets"]
    inlines = [ConceptCodeInline]

    def get_changelist(self, request, **kwargs):
        return CodeConceptChangeList

    @admin.display(description="official value sets loaded")
    def value_sets_loaded(self, concept):
        urls = concept.value_set_urls or []
        if not urls:
            return "none named"
        return f"{len(_loaded_urls(concept))} of {len(urls)}"

    @admin.display(description="codes in use")
    def codes_in_use(self, concept):
        return "official value sets" if _loaded_urls(concept) else "starter codes"

    @admin.display(description="value sets")
    def value_sets(self, concept):
        urls = concept.value_set_urls or []
        if not urls:
            return "None named: the starter codes are this concept's codes."
        loaded = {vs.url: vs for vs in ValueSet.objects.filter(url__in=urls)}
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 - a constant
            "{}: {}",
            (
                (
                    url,
                    f"loaded, {loaded[url]} ({loaded[url].code_count} codes)"
                    if url in loaded
                    else "not loaded",
                )
                for url in urls
            ),
        )


@admin.register(ValueSet)
class ValueSetAdmin(ReadOnlyAdmin):
    list_display = ["title", "name", "version", "url", "code_count", "loaded_at"]
    # A code finds the value sets that hold it.
    search_fields = ["title", "name", "url", "codes__code"]
    date_hierarchy = "loaded_at"
    fields = ["url", "version", "name", "title", "code_count", "loaded_at", "content_hash",
              "codes_link"]  # fmt: skip
    readonly_fields = ["url", "version", "name", "title", "code_count", "loaded_at",
                       "content_hash", "codes_link"]  # fmt: skip

    @admin.display(description="codes")
    def codes_link(self, value_set):
        url = reverse("admin:patients_valuesetcode_changelist")
        return format_html(
            '<a href="{}?value_set__id__exact={}">{} codes</a>',
            url,
            value_set.pk,
            value_set.code_count,
        )


@admin.register(ValueSetCode)
class ValueSetCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "system", "display", "value_set"]
    list_filter = ["system", "value_set"]
    search_fields = ["code", "display"]
    list_select_related = ["value_set"]


@admin.register(ProgramExclusion)
class ProgramExclusionAdmin(VersionedRulesAdmin):
    list_display = ["name", "program", "code", "concepts", "lookback_months", "min_age",
                    "active"]  # fmt: skip
    list_filter = ["program", "active"]
    search_fields = ["name", "code"]
    filter_horizontal = ["all_of"]
    list_select_related = ["program"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("all_of")

    @admin.display(description="all of")
    def concepts(self, exclusion):
        return ", ".join(sorted(concept.name for concept in exclusion.all_of.all()))


@admin.register(RuleVersion)
class RuleVersionAdmin(ReadOnlyAdmin):
    list_display = ["program", "number", "summary", "changed_by", "changed_at"]
    list_filter = ["program"]
    search_fields = ["summary"]
    date_hierarchy = "changed_at"
    list_select_related = ["program", "changed_by"]


# --- Clinical data from EHR feeds ---------------------------------------------------


@admin.register(FhirSource)
class FhirSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "kind", "clinic", "mrn_system", "created_at"]
    list_filter = ["kind", "clinic"]
    search_fields = ["name", "key"]
    list_select_related = ["clinic"]


@admin.register(ClinicalResource)
class ClinicalResourceAdmin(SearchInBodyAdmin, ReadOnlyAdmin):
    list_display = ["resource_type", "resource_id", "patient", "source", "imported_at",
                    "updated_at"]  # fmt: skip
    list_filter = ["resource_type", "source"]
    search_fields = ["resource_id", "patient__mrn", "patient__family_name"]
    date_hierarchy = "imported_at"
    list_select_related = ["patient", "source"]
    raw_id_fields = ["patient"]


@admin.register(FhirImport)
class FhirImportAdmin(ReadOnlyAdmin):
    list_display = ["pk", "source", "received_at", "received_by", "origin", "created", "updated",
                    "unchanged"]  # fmt: skip
    list_filter = ["source"]
    search_fields = ["origin"]
    date_hierarchy = "received_at"
    list_select_related = ["source", "received_by"]


@admin.register(DataQualityWarning)
class DataQualityWarningAdmin(admin.ModelAdmin):
    list_display = ["message", "kind", "source", "created_at", "resolved_at"]
    list_filter = ["kind", "source", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["message", "patient__mrn", "other_patient__mrn"]
    date_hierarchy = "created_at"
    list_select_related = ["source"]
    # Only whether it is resolved is for a person to set; the rest is what the feed said.
    readonly_fields = ["source", "fhir_import", "kind", "message", "patient", "other_patient",
                       "created_at"]  # fmt: skip

    def has_add_permission(self, request, obj=None):
        return False


# --- Care gaps and uploads ----------------------------------------------------------


@admin.register(CareGap)
class CareGapAdmin(ReadOnlyAdmin):
    list_display = ["patient", "program", "status", "as_of", "next_due_on", "overdue_since",
                    "rule_version", "computed_at"]  # fmt: skip
    list_filter = ["program", "status"]
    search_fields = ["patient__mrn", "patient__family_name"]
    date_hierarchy = "as_of"
    list_select_related = ["patient", "program"]


@admin.register(ReferralUpload)
class ReferralUploadAdmin(ReadOnlyAdmin):
    list_display = ["filename", "clinic", "uploaded_by", "uploaded_at", "mode", "row_count",
                    "created_count", "duplicate_count"]  # fmt: skip
    list_filter = ["clinic", "mode"]
    search_fields = ["filename", "sha256"]
    date_hierarchy = "uploaded_at"
    list_select_related = ["clinic", "uploaded_by"]
