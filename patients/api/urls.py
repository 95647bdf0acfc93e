from rest_framework.routers import SimpleRouter

from patients.api import views

router = SimpleRouter()
router.register("referrals", views.ReferralViewSet, basename="referral")
router.register("patients", views.PatientViewSet, basename="patient")
router.register("programs", views.ProgramViewSet, basename="program")

urlpatterns = router.urls
