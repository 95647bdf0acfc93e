from django.urls import path

from navigator import views

app_name = "navigator"

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/attempts/", views.attempt_create, name="attempt_create"),
    path("cases/<int:pk>/notes/", views.note_create, name="note_create"),
    path("cases/<int:pk>/barriers/", views.barrier_create, name="barrier_create"),
    path(
        "cases/<int:pk>/barriers/<int:barrier_id>/",
        views.barrier_update,
        name="barrier_update",
    ),
    path("cases/<int:pk>/appointments/", views.appointment_create, name="appointment_create"),
    path(
        "cases/<int:pk>/appointments/<int:appointment_id>/",
        views.appointment_update,
        name="appointment_update",
    ),
    path("cases/<int:pk>/screening/", views.screening_create, name="screening_create"),
    path("cases/<int:pk>/kits/", views.kit_create, name="kit_create"),
    path("cases/<int:pk>/tasks/done/", views.task_done, name="task_done"),
    path("cases/<int:pk>/status/", views.case_transition, name="case_transition"),
    path("cases/<int:pk>/follow-up/", views.follow_up_set, name="follow_up_set"),
    path("cases/<int:pk>/assign/", views.case_assign, name="case_assign"),
    path("reports/completion/", views.report, name="report"),
    path("team/", views.team, name="team"),
    path("team/rebalance/", views.navigator_rebalance, name="navigator_rebalance"),
    path("coverage/", views.coverage, name="coverage"),
    path("coverage/<int:coverage_id>/cancel/", views.coverage_cancel, name="coverage_cancel"),
]
