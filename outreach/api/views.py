from django.conf import settings
from django.http import HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.api import IgnoresAcceptMixin, roles_allowed
from config.api_schema import CONFLICT, ErrorDetailSerializer
from navigator.api.serializers import CaseDetailSerializer
from navigator.cases import StaleCaseError
from navigator.models import CASEWORK_ROLES, Role
from navigator.selectors.cases import case_detail
from navigator.selectors.visibility import cases_visible_to
from outreach import selectors
from outreach.api.serializers import (
    CallGuideSerializer,
    CaseTaskDoneSerializer,
    CaseTaskSerializer,
    FollowUpReminderSerializer,
    InboundSmsSerializer,
    MessageStatusSerializer,
    UnreachableDecisionSerializer,
)
from outreach.messaging import inbound
from outreach.messaging.sms_backends import verify_twilio_signature
from outreach.models import CallGuide, CallStep, CaseTask, FollowUpReminder
from outreach.services import navigator_tasks, unreachable
from patients.languages import validate_language_code
from patients.models import ScreeningProgram


class FollowUpReminderFilter(filters.FilterSet):
    # A plain id filter: a model-choice filter would check the id against every
    # case, telling a navigator which case ids exist outside their caseload.
    case = filters.NumberFilter(field_name="case_id")

    class Meta:
        model = FollowUpReminder
        fields = ["due_on", "case"]


class FollowUpReminderViewSet(viewsets.ReadOnlyModelViewSet):
    """Follow-up reminders: a navigator's own, or every one for a manager."""

    serializer_class = FollowUpReminderSerializer
    permission_classes = [roles_allowed(*CASEWORK_ROLES, Role.MANAGER)]
    filterset_class = FollowUpReminderFilter

    def get_queryset(self):
        return selectors.reminders_visible_to(self.request.user).select_related("case__program")


class CallGuideFilter(filters.FilterSet):
    program = filters.ModelChoiceFilter(
        field_name="program",
        to_field_name="code",
        queryset=ScreeningProgram.objects.all(),
        help_text="A program's code, e.g. colorectal.",
    )
    step = filters.ChoiceFilter(choices=CallStep.choices)
    language = filters.CharFilter(
        method="filter_language",
        validators=[validate_language_code],
        help_text="An ISO 639 code, e.g. es.",
    )

    class Meta:
        model = CallGuide
        fields = ["program", "step", "language"]

    def filter_language(self, queryset, name, value):
        return queryset.filter(language=value.strip().lower())


class CallGuideViewSet(viewsets.ReadOnlyModelViewSet):
    """Call guides: what navigators say on a first call, a prep call, an abnormal
    result call and a reminder call, per program and language (active guides only;
    navigators and managers). Managers edit them on the program's call-guide page."""

    serializer_class = CallGuideSerializer
    permission_classes = [roles_allowed(*CASEWORK_ROLES, Role.MANAGER)]
    filterset_class = CallGuideFilter

    def get_queryset(self):
        return selectors.call_guides_listed()


class _UnreachableDecisionView(APIView):
    """A manager's decision on a case proposed for closing as unreachable."""

    permission_classes = [roles_allowed(Role.MANAGER)]
    decide = staticmethod(unreachable.case_unreachable_confirm)

    @extend_schema(
        request=UnreachableDecisionSerializer, responses={200: CaseDetailSerializer, 409: CONFLICT}
    )
    def post(self, request, pk: int):
        case = get_object_or_404(cases_visible_to(request.user), pk=pk)
        serializer = UnreachableDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        type(self).decide(
            case=case,
            actor=request.user,
            note=data["note"],
            expected_version=data.get("version"),
        )
        return Response(CaseDetailSerializer(case_detail(user=request.user, case_id=pk)).data)

    def handle_exception(self, exc):
        # Decided from an older version of the case: a conflict, not a bad request.
        if isinstance(exc, StaleCaseError):
            return Response(as_serializer_error(exc), status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)


class UnreachableConfirmView(_UnreachableDecisionView):
    """Confirm the proposal: the case closes as unreachable (managers)."""

    decide = staticmethod(unreachable.case_unreachable_confirm)


class UnreachableDismissView(_UnreachableDecisionView):
    """Keep trying: the proposal is withdrawn (managers)."""

    decide = staticmethod(unreachable.case_unreachable_dismiss)


# --- SMS provider webhooks -------------------------------------------------------------------


class _TwilioWebhook(IgnoresAcceptMixin, APIView):
    """A webhook the SMS provider calls. No session or token: the request is trusted
    only if its X-Twilio-Signature signs this URL and these parameters with our auth
    token; anything else is refused with 403 and changes nothing."""

    authentication_classes: list = []
    permission_classes: list = []
    parser_classes = [FormParser, MultiPartParser]
    # Per calling address (settings REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["webhook"]):
    # generous for the provider's bursts, a ceiling for anyone hammering the endpoint.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "webhook"

    def signed_url(self, request) -> str:
        # Behind a proxy the request may arrive as http://internal/…: the URL Twilio
        # signed is the public one, so the configured site URL wins where set.
        site = getattr(settings, "EQUINAV_SITE_URL", "")
        if site:
            return site.rstrip("/") + request.get_full_path()
        return request.build_absolute_uri()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        token = settings.TWILIO_AUTH_TOKEN
        if not token:
            raise exceptions.PermissionDenied(
                "SMS webhooks are off: TWILIO_AUTH_TOKEN is not configured."
            )
        if not verify_twilio_signature(
            self.signed_url(request),
            request.POST,
            request.headers.get("X-Twilio-Signature"),
            token,
        ):
            raise exceptions.PermissionDenied(
                "The request's X-Twilio-Signature is missing or wrong."
            )


# The webhooks' refusals: a missing or wrong signature, a message that is not ours.
FORBIDDEN = OpenApiResponse(
    ErrorDetailSerializer, description="The X-Twilio-Signature is missing or wrong."
)
NOT_OURS = OpenApiResponse(
    ErrorDetailSerializer, description="No message of ours has this MessageSid."
)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class InboundSmsWebhook(_TwilioWebhook):
    """A text to the program's number: STOP (and its synonyms), START, HELP or a
    message for the navigator. Replies go out as messages of their own, so the
    answer to the provider is empty TwiML."""

    @extend_schema(
        request=InboundSmsSerializer, responses={(200, "text/xml"): str, 403: FORBIDDEN}, auth=[]
    )
    def post(self, request):
        serializer = InboundSmsSerializer(data=request.POST)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        inbound.sms_inbound_receive(
            provider_id=data["MessageSid"],
            from_number=data["From"],
            to_number=data["To"],
            body=data["Body"],
        )
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")


class MessageStatusWebhook(_TwilioWebhook):
    """A delivery-status callback for one of our texts."""

    @extend_schema(
        request=MessageStatusSerializer,
        responses={204: None, 403: FORBIDDEN, 404: NOT_OURS},
        auth=[],
    )
    def post(self, request):
        serializer = MessageStatusSerializer(data=request.POST)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            inbound.message_status_record(
                provider_id=data["MessageSid"],
                status=data["MessageStatus"],
                error_code=data["ErrorCode"],
            )
        except inbound.UnknownMessage as unknown:
            raise exceptions.NotFound("No message of ours has this MessageSid.") from unknown
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Tasks -----------------------------------------------------------------------------------


class CaseTaskFilter(filters.FilterSet):
    case = filters.NumberFilter(field_name="case_id")
    open = filters.BooleanFilter(field_name="done_at", lookup_expr="isnull")

    class Meta:
        model = CaseTask
        fields = ["kind", "for_manager", "case", "open"]


class CaseTaskViewSet(viewsets.ReadOnlyModelViewSet):
    """Navigator tasks (their cases') and, for managers, escalations too."""

    serializer_class = CaseTaskSerializer
    permission_classes = [roles_allowed(*CASEWORK_ROLES, Role.MANAGER)]
    filterset_class = CaseTaskFilter

    def get_queryset(self):
        return selectors.case_tasks_visible_to(self.request.user)

    @extend_schema(request=CaseTaskDoneSerializer, responses=CaseTaskSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        task = self.get_object()
        serializer = CaseTaskDoneSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = navigator_tasks.case_task_done(
            task=task, actor=request.user, note=serializer.validated_data["note"]
        )
        return Response(CaseTaskSerializer(task).data)
