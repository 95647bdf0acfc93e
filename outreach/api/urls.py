from django.urls import path
from rest_framework.routers import SimpleRouter

from outreach.api import views

router = SimpleRouter()
router.register("reminders", views.FollowUpReminderViewSet, basename="reminder")

urlpatterns = [
    path(
        "cases/<int:pk>/unreachable/confirm/",
        views.UnreachableConfirmView.as_view(),
        name="case-unreachable-confirm",
    ),
    path(
        "cases/<int:pk>/unreachable/dismiss/",
        views.UnreachableDismissView.as_view(),
        name="case-unreachable-dismiss",
    ),
    *router.urls,
]
