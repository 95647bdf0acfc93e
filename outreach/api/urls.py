from django.urls import path
from rest_framework.routers import SimpleRouter

from outreach.api import views

router = SimpleRouter()
router.register("reminders", views.FollowUpReminderViewSet, basename="reminder")
router.register("tasks", views.CaseTaskViewSet, basename="task")
router.register("call-guides", views.CallGuideViewSet, basename="call-guide")

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
    path("sms/inbound/", views.InboundSmsWebhook.as_view(), name="sms-inbound"),
    path("sms/status/", views.MessageStatusWebhook.as_view(), name="sms-status"),
    *router.urls,
]
