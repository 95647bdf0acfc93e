from rest_framework.routers import SimpleRouter

from outreach.api import views

router = SimpleRouter()
router.register("reminders", views.FollowUpReminderViewSet, basename="reminder")

urlpatterns = router.urls
