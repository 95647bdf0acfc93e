from django.urls import path

from patients import pathway_views, upload_views, views

app_name = "patients"

urlpatterns = [
    path("referrals/", views.referral_list, name="referral_list"),
    path("referrals/digest/", views.referral_digest_preference, name="referral_digest_preference"),
    path("referrals/new/", views.referral_create, name="referral_create"),
    path("referrals/upload/", views.referral_upload, name="referral_upload"),
    path(
        "referrals/upload/template.csv",
        views.referral_upload_template,
        name="referral_upload_template",
    ),
    path(
        "referrals/uploads/<int:upload_id>/",
        upload_views.referral_upload_job,
        name="referral_upload_job",
    ),
    path(
        "referrals/uploads/<int:upload_id>/progress/",
        upload_views.referral_upload_job_progress,
        name="referral_upload_job_progress",
    ),
    path("referrals/<int:pk>/", views.referral_detail, name="referral_detail"),
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
    path("care-gaps/", views.care_gap_list, name="care_gap_list"),
    path("patients/duplicates/", views.patient_duplicates, name="patient_duplicates"),
    path("patients/duplicates/merge/", views.patient_merge, name="patient_merge"),
    path("programs/<slug:code>/rules/", views.program_rules, name="program_rules"),
    path(
        "programs/<slug:code>/pathways/",
        pathway_views.program_pathways,
        name="program_pathways",
    ),
]
