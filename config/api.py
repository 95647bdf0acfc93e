"""Shared REST API plumbing: pagination, errors, content negotiation and role permissions.

(The error responses the schema documents for every operation: `config.api_schema`.)"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, permissions
from rest_framework.pagination import PageNumberPagination
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        # A page size that is not a whole number from 1 is the caller's mistake: refused
        # (400) rather than silently replaced by the default (the fuzzer's finding).
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isdigit() and int(raw) > 0):
            raise exceptions.ValidationError(
                {self.page_size_query_param: ["A whole number from 1 is required."]}
            )
        return super().get_page_size(request)


def exception_handler(exc, context):
    """Services raise Django's ValidationError; answer it as a field-level 400."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)


class IgnoresAcceptMixin:
    """For a view that answers one media type whatever the client accepts (a webhook's
    TwiML, a CSV file): an Accept header naming another is not refused with 406, and
    its errors are JSON."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # type: ignore[misc]


class HasRole(permissions.BasePermission):
    """Allow only users whose role is listed (admins always)."""

    roles: tuple[str, ...] = ()
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.is_program_admin or user.role in self.roles


def roles_allowed(*roles: str) -> type[HasRole]:
    return type("HasRoleFor_" + "_".join(roles), (HasRole,), {"roles": roles})
