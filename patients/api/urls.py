from django.urls import path
from rest_framework.routers import SimpleRouter

from patients.api import fhir, measures, views

router = SimpleRouter()
router.register("referrals", views.ReferralViewSet, basename="referral")
router.register("patients", views.PatientViewSet, basename="patient")
router.register("programs", views.ProgramViewSet, basename="program")

urlpatterns = [
    path("fhir/", fhir.FhirImportView.as_view(), name="fhir-import"),
    path(
        "measures/<str:measure>/report/",
        measures.MeasureReportView.as_view(),
        name="measure-report",
    ),
    *router.urls,
]
