from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from config.admin import ReadOnlyAdmin, SearchInBodyAdmin
from navigator.forms.account import ServicePasswordChangeForm
from navigator.models import (
    CASEWORK_ROLES,
    Appointment,
    BarrierCategory,
    BarrierType,
    CaseBarrier,
    CaseEvent,
    CoachingGoal,
    CoachingSession,
    Coverage,
    GroupAttendance,
    GroupEnrolment,
    GroupSeries,
    GroupSession,
    NavigationCase,
    NavigatorProfile,
    Rebalance,
    User,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    # Through navigator.services.passwords: a new password revokes the user's API tokens.
    change_password_form = ServicePasswordChangeForm
    list_display = ["username", "first_name", "last_name", "email", "role", "clinic", "is_active"]
    list_filter = ["role", "clinic", "is_active", "is_staff"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("EquiNav", {"fields": ["role", "clinic"]}),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        ("EquiNav", {"fields": ["role", "clinic"]}),
    ]


@admin.register(NavigatorProfile)
class NavigatorProfileAdmin(admin.ModelAdmin):
    """A caseload: a navigator's or a coach's (the user's role says which)."""

    list_display = ["__str__", "role", "languages", "caseload_capacity", "active"]
    list_filter = ["active", "user__role"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user"]
    filter_horizontal = ["clinics"]

    @admin.display(description="Role", ordering="user__role")
    def role(self, profile: NavigatorProfile) -> str:
        return profile.user.get_role_display()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only a staff member who works a caseload has one.
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(role__in=CASEWORK_ROLES)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "kind", "actor", "summary", "data"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(NavigationCase)
class NavigationCaseAdmin(SearchInBodyAdmin, ReadOnlyAdmin):
    list_display = ["pk", "patient", "program", "navigator", "status", "next_follow_up",
                    "needs_interpreter", "opened_at", "completed_at"]  # fmt: skip
    list_filter = ["status", "program", "navigator", "needs_interpreter",
                   "patient__preferred_language", "patient__clinic"]  # fmt: skip
    search_fields = ["patient__mrn", "patient__family_name", "patient__given_name"]
    date_hierarchy = "opened_at"
    list_select_related = ["patient", "program", "navigator__user"]
    # Read-only: status moves only through navigator.cases.case_transition, reassignment
    # through navigator.services.assignment.case_assign (which logs it and moves the
    # case's reminders), and every other field through its service.
    inlines = [CaseEventInline]


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    """The timeline is the case's history: nobody adds, edits or deletes a row here
    (and on PostgreSQL the database refuses it too: navigator.audit.history)."""

    list_display = ["at", "case", "kind", "actor", "summary"]
    list_filter = ["kind"]
    search_fields = ["case__pk", "summary"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
    readonly_fields = ["case", "kind", "actor", "at", "summary", "data"]


class BarrierTypeInline(admin.TabularInline):
    model = BarrierType
    extra = 0


@admin.register(BarrierCategory)
class BarrierCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "order"]
    inlines = [BarrierTypeInline]


@admin.register(BarrierType)
class BarrierTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "code", "active"]
    list_filter = ["category", "active"]
    search_fields = ["name", "code"]


@admin.register(CaseBarrier)
class CaseBarrierAdmin(SearchInBodyAdmin, ReadOnlyAdmin):
    list_display = ["case", "barrier_type", "status", "identified_on", "resolved_on"]
    list_filter = ["status", "barrier_type__category", "barrier_type"]
    search_fields = ["case__patient__mrn", "action", "note"]
    raw_id_fields = ["case"]
    list_select_related = ["barrier_type"]


@admin.register(Appointment)
class AppointmentAdmin(SearchInBodyAdmin, ReadOnlyAdmin):
    list_display = ["case", "scheduled_at", "site", "modality", "status"]
    list_filter = ["status", "modality__program", "site"]
    search_fields = ["case__patient__mrn", "site"]
    date_hierarchy = "scheduled_at"
    raw_id_fields = ["case"]
    list_select_related = ["modality"]


@admin.register(Coverage)
class CoverageAdmin(admin.ModelAdmin):
    """Read-only: cover is arranged and ended through navigator.services.coverage, which
    checks it."""

    list_display = ["absent", "covering", "starts_on", "ends_on", "cancelled_at", "created_by"]
    list_filter = ["starts_on"]
    list_select_related = ["absent__user", "covering__user", "created_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Rebalance)
class RebalanceAdmin(admin.ModelAdmin):
    """The log of case moves; read-only."""

    list_display = ["at", "actor", "from_navigator", "requested", "moved", "deactivated"]
    list_select_related = ["actor", "from_navigator__user"]
    readonly_fields = ["at", "actor", "from_navigator", "requested", "moved", "deactivated",
                       "summary"]  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Coaching (issue 16): read-only, as the case records are. Capacity, reminders, the
# interpreter and the timeline are the services' (navigator.services.coaching and
# group_classes); an edit here would skip them.
@admin.register(CoachingSession)
class CoachingSessionAdmin(SearchInBodyAdmin, ReadOnlyAdmin):
    list_display = ["case", "scheduled_at", "status", "language", "minutes_spent"]
    list_filter = ["status", "language"]
    search_fields = ["patient__mrn"]
    date_hierarchy = "scheduled_at"
    raw_id_fields = ["case", "patient"]


@admin.register(CoachingGoal)
class CoachingGoalAdmin(SearchInBodyAdmin, ReadOnlyAdmin):
    list_display = ["case", "behaviour", "outcome", "created_at"]
    list_filter = ["behaviour", "outcome"]
    search_fields = ["patient__mrn"]
    raw_id_fields = ["case", "patient", "set_in", "reviewed_in"]


@admin.register(GroupSeries)
class GroupSeriesAdmin(ReadOnlyAdmin):
    list_display = ["name", "program", "language", "facilitator", "capacity"]
    list_filter = ["program", "language"]
    search_fields = ["name", "curriculum"]


@admin.register(GroupSession)
class GroupSessionAdmin(ReadOnlyAdmin):
    list_display = ["series", "number", "starts_at", "duration_minutes"]
    date_hierarchy = "starts_at"
    list_select_related = ["series"]


@admin.register(GroupEnrolment)
class GroupEnrolmentAdmin(SearchInBodyAdmin, ReadOnlyAdmin):
    list_display = ["series", "case", "status", "enrolled_at"]
    list_filter = ["status", "series"]
    search_fields = ["patient__mrn"]
    raw_id_fields = ["case", "patient"]
    list_select_related = ["series"]


@admin.register(GroupAttendance)
class GroupAttendanceAdmin(SearchInBodyAdmin, ReadOnlyAdmin):
    list_display = ["session", "enrolment", "status", "minutes", "makeup_for"]
    list_filter = ["status"]
    search_fields = ["patient__mrn"]
    raw_id_fields = ["session", "enrolment", "patient", "makeup_for"]
