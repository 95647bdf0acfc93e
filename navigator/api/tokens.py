"""API tokens: issue one for a username and password (and a TOTP code where required),
list your own, revoke one or all of them.

Issuing goes through django.contrib.auth.authenticate with the request, so django-axes
counts failures and refuses locked usernames and addresses exactly as on the sign-in
page (429 with Retry-After). Every view here is rate-limited per caller
(ScopedRateThrottle, settings REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.signin import lockout_response
from config.two_factor import requires_totp
from navigator.selectors.api_tokens import api_tokens_of
from navigator.services import api_tokens, two_factor

BAD_CREDENTIALS = "Unable to sign in with the username and password given."


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)
    otp_token = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        help_text="The 6-digit code of your authenticator app: required for managers and "
        "administrators when two-factor sign-in is on.",
    )


class IssuedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`. Shown once.")
    token_key = serializers.CharField(help_text="Names the token in the list and to revoke it.")
    expiry = serializers.DateTimeField(allow_null=True)


class TokenSerializer(serializers.Serializer):
    token_key = serializers.CharField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)
    current = serializers.BooleanField(help_text="Whether this request was made with it.")


class TokenObtainView(APIView):
    """Exchange a username and password for an API token that expires."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: IssuedTokenSerializer},
        auth=[],
        summary="Issue an API token",
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request=request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request)
            raise exceptions.ValidationError({"non_field_errors": [BAD_CREDENTIALS]})
        if requires_totp(user):
            code = data.validated_data.get("otp_token", "")
            if not code:
                raise exceptions.ValidationError(
                    {"otp_token": ["Your role needs the code from your authenticator app."]}
                )
            try:
                two_factor.totp_verify(user=user, code=code, request=request)
            except DjangoValidationError as error:  # answered under the request's field name
                raise exceptions.ValidationError(
                    {"otp_token": error.message_dict.get("code", error.messages)}
                ) from error
        try:
            instance, token = api_tokens.api_token_issue(user=user, request=request)
        except DjangoPermissionDenied as error:  # the per-user ceiling, said as it is
            raise exceptions.PermissionDenied(str(error)) from error
        body = {"token": token, "token_key": instance.token_key, "expiry": instance.expiry}
        return Response(IssuedTokenSerializer(body).data)


class _OwnTokensView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token_manage"


class TokenListView(_OwnTokensView):
    """Your own API tokens that have not expired, newest first."""

    @extend_schema(responses={200: TokenSerializer(many=True)}, summary="List your API tokens")
    def get(self, request):
        current = getattr(request.auth, "token_key", None)
        rows = [
            {
                "token_key": token.token_key,
                "created": token.created,
                "expiry": token.expiry,
                "current": token.token_key == current,
            }
            for token in api_tokens_of(request.user)
        ]
        return Response(TokenSerializer(rows, many=True).data)


class TokenRevokeView(_OwnTokensView):
    """Revoke one of your API tokens: it stops working at once."""

    @extend_schema(
        responses={204: None, 404: OpenApiResponse(description="You have no such token.")},
        summary="Revoke one of your API tokens",
    )
    def delete(self, request, token_key: str):
        try:
            api_tokens.api_token_revoke(user=request.user, token_key=token_key, request=request)
        except DjangoValidationError as error:
            raise exceptions.NotFound("You have no API token with this key.") from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRevokeAllView(_OwnTokensView):
    """Revoke every API token you have (the one this request used too)."""

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer("TokensRevoked", {"revoked": serializers.IntegerField()})
        },
        summary="Revoke all your API tokens",
    )
    def post(self, request):
        count = api_tokens.api_tokens_revoke_all(user=request.user, request=request)
        return Response({"revoked": count})
