from django.urls import path

from navigator.views import (
    case_actions,
    case_page,
    coaching,
    control_dashboard,
    equity,
    follow_ups,
    group_classes,
    lists,
    reports,
    right_of_access,
    team,
    worklist_enrol,
)

app_name = "navigator"

urlpatterns = [
    path("worklist/", lists.worklist, name="worklist"),
    path("cases/", lists.case_list, name="case_list"),
    path("cases/<int:pk>/", case_page.case_detail, name="case_detail"),
    path("cases/<int:pk>/attempts/", case_actions.attempt_create, name="attempt_create"),
    path(
        "cases/<int:pk>/enrol-next-series/",
        worklist_enrol.worklist_group_enrol,
        name="worklist_group_enrol",
    ),
    path("cases/<int:pk>/notes/", case_actions.note_create, name="note_create"),
    path("cases/<int:pk>/barriers/", case_actions.barrier_create, name="barrier_create"),
    path(
        "cases/<int:pk>/barriers/<int:barrier_id>/",
        case_actions.barrier_update,
        name="barrier_update",
    ),
    path(
        "cases/<int:pk>/appointments/", case_actions.appointment_create, name="appointment_create"
    ),
    path(
        "cases/<int:pk>/appointments/<int:appointment_id>/",
        case_actions.appointment_update,
        name="appointment_update",
    ),
    path(
        "cases/<int:pk>/interpreters/", case_actions.interpreter_create, name="interpreter_create"
    ),
    path(
        "cases/<int:pk>/interpreters/<int:request_id>/",
        case_actions.interpreter_update,
        name="interpreter_update",
    ),
    path("cases/<int:pk>/screening/", case_actions.screening_create, name="screening_create"),
    path(
        "cases/<int:pk>/follow-up/close/propose/",
        follow_ups.follow_up_close_propose,
        name="follow_up_close_propose",
    ),
    path(
        "cases/<int:pk>/follow-up/close/confirm/",
        follow_ups.follow_up_close_confirm,
        name="follow_up_close_confirm",
    ),
    path(
        "cases/<int:pk>/follow-up/close/dismiss/",
        follow_ups.follow_up_close_dismiss,
        name="follow_up_close_dismiss",
    ),
    path("follow-ups/", follow_ups.follow_up_list, name="follow_up_list"),
    path("cases/<int:pk>/kits/", case_actions.kit_create, name="kit_create"),
    path("cases/<int:pk>/tasks/done/", case_actions.task_done, name="task_done"),
    path("cases/<int:pk>/status/", case_actions.case_transition, name="case_transition"),
    path("cases/<int:pk>/follow-up/", case_actions.follow_up_set, name="follow_up_set"),
    path("cases/<int:pk>/assign/", case_actions.case_assign, name="case_assign"),
    path("cases/<int:pk>/coaching/", coaching.coaching_book, name="coaching_book"),
    path(
        "cases/<int:pk>/coaching/<int:coaching_id>/",
        coaching.coaching_update,
        name="coaching_update",
    ),
    path(
        "cases/<int:pk>/coaching/<int:coaching_id>/goals/",
        coaching.coaching_goal_create,
        name="coaching_goal_create",
    ),
    path(
        "cases/<int:pk>/goals/<int:goal_id>/review/",
        coaching.coaching_goal_review,
        name="coaching_goal_review",
    ),
    path("cases/<int:pk>/groups/enrol/", coaching.group_enrol_next, name="case_group_enrol"),
    path("cases/<int:pk>/labs/", coaching.lab_create, name="lab_create"),
    path("cases/<int:pk>/labs/<int:resource_pk>/fix/", coaching.lab_fix, name="lab_fix"),
    path("reports/completion/", reports.report, name="report"),
    path("reports/equity/", equity.dashboard, name="equity"),
    path("reports/equity/navigation/", equity.navigation, name="equity_navigation"),
    path("reports/equity/navigation.csv", equity.navigation_csv, name="equity_navigation_csv"),
    path("reports/equity.csv", equity.dashboard_csv, name="equity_csv"),
    path("reports/equity/quality/", equity.data_quality_page, name="equity_quality"),
    path("reports/equity/quality.csv", equity.data_quality_csv, name="equity_quality_csv"),
    path("reports/equity.pdf", equity.dashboard_pdf, name="equity_pdf"),
    path("reports/equity/control/", control_dashboard.page, name="equity_control"),
    path("reports/equity/control.csv", control_dashboard.csv_export, name="equity_control_csv"),
    path(
        "patients/<int:pk>/right-of-access/fhir/",
        right_of_access.patient_export,
        {"kind": "fhir"},
        name="patient_export_fhir",
    ),
    path(
        "patients/<int:pk>/right-of-access/pdf/",
        right_of_access.patient_export,
        {"kind": "pdf"},
        name="patient_export_pdf",
    ),
    path("team/", team.team, name="team"),
    path("team/rebalance/", team.navigator_rebalance, name="navigator_rebalance"),
    path("coverage/", team.coverage, name="coverage"),
    path("coverage/<int:coverage_id>/cancel/", team.coverage_cancel, name="coverage_cancel"),
    path("groups/", group_classes.group_series_list, name="group_series_list"),
    path("groups/new/", group_classes.group_series_create, name="group_series_create"),
    path("groups/<int:series_id>/", group_classes.group_series_detail, name="group_series_detail"),
    path(
        "groups/<int:series_id>/sessions/",
        group_classes.group_session_create,
        name="group_session_create",
    ),
    path("groups/<int:series_id>/enrol/", group_classes.group_enrol, name="group_enrol"),
    path(
        "groups/<int:series_id>/roster/print/",
        group_classes.group_roster_print,
        name="group_roster_print",
    ),
    path(
        "groups/enrolments/<int:enrolment_id>/status/",
        group_classes.group_enrolment_status,
        name="group_enrolment_status",
    ),
    path(
        "groups/sessions/<int:session_id>/attendance/",
        group_classes.group_attendance,
        name="group_attendance",
    ),
]
