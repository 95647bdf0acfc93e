from django.urls import path
from rest_framework.routers import SimpleRouter

from navigator.api import coaching, equity, right_of_access, views

router = SimpleRouter()
router.register("cases", views.CaseViewSet, basename="case")
router.register("navigators", views.NavigatorViewSet, basename="navigator")
router.register("barrier-types", views.BarrierTypeViewSet, basename="barrier-type")
router.register("coaching-sessions", coaching.CoachingSessionViewSet, basename="coaching-session")
router.register("coaching-goals", coaching.CoachingGoalViewSet, basename="coaching-goal")
router.register("group-series", coaching.GroupSeriesViewSet, basename="group-series")
router.register("group-enrolments", coaching.GroupEnrolmentViewSet, basename="group-enrolment")
router.register("group-sessions", coaching.GroupSessionViewSet, basename="group-session")

urlpatterns = [
    path("worklist/", views.WorklistView.as_view(), name="worklist"),
    path("worklist/search/", views.WorklistSearchView.as_view(), name="worklist_search"),
    path("team/", views.TeamView.as_view(), name="team"),
    path("equity/", equity.EquityView.as_view(), name="equity"),
    path("equity/periods/", equity.PeriodRequestView.as_view(), name="equity-periods"),
    path("reports/completion/", views.CompletionReportView.as_view(), name="completion-report"),
    path(
        "patients/<int:id>/right-of-access/fhir/",
        right_of_access.FhirExportView.as_view(),
        name="patient-right-of-access-fhir",
    ),
    path(
        "patients/<int:id>/right-of-access/pdf/",
        right_of_access.PdfExportView.as_view(),
        name="patient-right-of-access-pdf",
    ),
    *router.urls,
]
