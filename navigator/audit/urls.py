from django.urls import path

from navigator.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_search, name="search"),
    path("patient/", views.audit_patient_lookup, name="patient_lookup"),
]
