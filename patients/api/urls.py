from django.urls import path
from rest_framework.routers import SimpleRouter

from patients.api import fhir, fhir_bulk, measures, upload, views

router = SimpleRouter()
router.register("referrals", views.ReferralViewSet, basename="referral")
router.register("patients", views.PatientViewSet, basename="patient")
router.register("programs", views.ProgramViewSet, basename="program")

urlpatterns = [
    path("referrals/upload/", upload.ReferralUploadView.as_view(), name="referral-upload"),
    path(
        "referrals/upload/template/",
        upload.ReferralUploadTemplateView.as_view(),
        name="referral-upload-template",
    ),
    path(
        "referrals/uploads/<int:upload_id>/",
        upload.ReferralUploadJobView.as_view(),
        name="referral-upload-job",
    ),
    path("fhir/", fhir.FhirImportView.as_view(), name="fhir-import"),
    path(
        "fhir/bulk-imports/",
        fhir_bulk.BulkImportListView.as_view(),
        name="fhir-bulk-import-list",
    ),
    path(
        "fhir/bulk-imports/<int:job_id>/",
        fhir_bulk.BulkImportDetailView.as_view(),
        name="fhir-bulk-import-detail",
    ),
    path(
        "measures/<str:measure>/report/",
        measures.MeasureReportView.as_view(),
        name="measure-report",
    ),
    *router.urls,
]
