from django.contrib import admin

from patients.models import (
    Clinic,
    Patient,
    PatientPhone,
    PatientRaceEthnicity,
    Referral,
    ScreeningEvent,
    ScreeningModality,
    ScreeningProgram,
)


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "phone", "active"]
    list_filter = ["active"]
    search_fields = ["name", "code"]


class PatientPhoneInline(admin.TabularInline):
    model = PatientPhone
    extra = 0


class PatientRaceEthnicityInline(admin.TabularInline):
    model = PatientRaceEthnicity
    extra = 0


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["family_name", "given_name", "mrn", "clinic", "birth_date", "sex",
                    "preferred_language", "interpreter_needed", "insurance_type"]  # fmt: skip
    list_filter = ["clinic", "sex", "preferred_language", "english_proficiency",
                   "interpreter_needed", "insurance_type", "race_ethnicities__category",
                   "sms_consent"]  # fmt: skip
    search_fields = ["mrn", "family_name", "given_name", "email", "phones__number"]
    date_hierarchy = "created_at"
    list_select_related = ["clinic"]
    inlines = [PatientRaceEthnicityInline, PatientPhoneInline]


class ScreeningModalityInline(admin.TabularInline):
    model = ScreeningModality
    extra = 0


@admin.register(ScreeningProgram)
class ScreeningProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "min_age", "max_age", "sex", "min_pack_years", "active"]
    list_filter = ["active", "sex"]
    search_fields = ["name", "code"]
    inlines = [ScreeningModalityInline]


@admin.register(ScreeningModality)
class ScreeningModalityAdmin(admin.ModelAdmin):
    list_display = ["name", "program", "code", "interval_months", "min_age", "active"]
    list_filter = ["program", "active"]
    search_fields = ["name", "code"]


@admin.register(ScreeningEvent)
class ScreeningEventAdmin(admin.ModelAdmin):
    list_display = ["patient", "modality", "performed_on", "result", "case", "recorded_by"]
    list_filter = ["modality__program", "modality", "result"]
    search_fields = ["patient__mrn", "patient__family_name"]
    date_hierarchy = "performed_on"
    list_select_related = ["patient", "modality", "recorded_by"]
    raw_id_fields = ["patient", "case"]


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
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
