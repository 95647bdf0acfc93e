"""The API schema's error responses, documented once for every operation.

drf-spectacular documents an operation's success only. `ErrorResponsesAutoSchema` adds
the refusals that the shared plumbing (DRF, django-filter, `config.api`) gives any
operation, each in the shape the exception handler (`config.api.exception_handler`)
answers with, and only where the operation can give it:

- 400 when it reads a body or query parameters: `{field: [message]}` (`FieldErrors`),
  or `{"detail": ...}` (`ErrorDetail`) for a body that cannot be parsed;
- 401 when it authenticates (a missing, invalid or revoked token), with WWW-Authenticate;
- 403 when a permission beyond being signed in applies (a role), or the method is
  unsafe and a session may sign the request (its CSRF check);
- 404 when its path names an object, or the list is paginated (`?page=` past the end);
- 406 unless the view ignores Accept (`config.api.IgnoresAcceptMixin`): the Accept
  header allows none of its media types;
- 415 when it reads a body (in a media type it does not parse);
- 429 when it is throttled, with Retry-After.

An operation's own `extend_schema(responses=...)` wins code by code, so a view documents
only what is special to it: 409 for a change made from a stale version (`CONFLICT`), a
webhook's 403, an upload's own 400 shape.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication

from config.api import IgnoresAcceptMixin

FIELD_ERRORS = "FieldErrors"
FIELD_ERRORS_REF = {"$ref": f"#/components/schemas/{FIELD_ERRORS}"}
FIELD_ERRORS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Each invalid field (or `non_field_errors`) with its messages; a nested "
    "object (or a list of them) for the fields of a nested object.",
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
            {"type": "object"},
        ]
    },
}
# Signing in is not a permission that can forbid: without it the answer is 401.
NOT_FORBIDDING = (permissions.AllowAny, permissions.IsAuthenticated)
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What was wrong, in words.")


# For views: a change refused because the object changed since the version it was made from.
CONFLICT = OpenApiResponse(
    FIELD_ERRORS_REF,
    description="The case changed since `version`: reload it, then decide again.",
)


class ErrorResponsesAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        registry.register_on_missing(
            ResolvedComponent(
                name=FIELD_ERRORS,
                type=ResolvedComponent.SCHEMA,
                object=FIELD_ERRORS,
                schema=FIELD_ERRORS_SCHEMA,
            )
        )
        responses = operation["responses"]
        for code, response in self._error_responses(operation).items():
            responses.setdefault(code, response)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_responses(self, operation: dict) -> dict[str, dict]:
        parameters = operation.get("parameters", [])
        query = {p["name"] for p in parameters if p["in"] == "query"}
        has_body = "requestBody" in operation
        paginator = self._get_paginator()
        page_param = getattr(paginator, "page_query_param", None)
        authenticators = self.view.get_authenticators()
        answers: dict[str, dict] = {}
        if has_body or query:
            answers["400"] = self._error(
                {"anyOf": [FIELD_ERRORS_REF, self._detail_ref()]},
                "400",
                "The request is invalid: each field's problems, or why the body could not be read.",
            )
        if authenticators:
            answers["401"] = self._error(
                self._detail_ref(),
                "401",
                "Not signed in: the token is missing, invalid or revoked.",
                headers={
                    "WWW-Authenticate": {
                        "schema": {"type": "string"},
                        "required": True,
                        "description": "How to authenticate (`Token`).",
                    }
                },
            )
        if self._may_forbid(authenticators):
            answers["403"] = self._error(
                self._detail_ref(), "403", "Signed in, but your role does not allow this."
            )
        if any(p["in"] == "path" for p in parameters) or (page_param and page_param in query):
            answers["404"] = self._error(
                self._detail_ref(),
                "404",
                "No such object (or not one you can see), or no such page.",
            )
        if not isinstance(self.view, IgnoresAcceptMixin):
            answers["406"] = self._error(
                self._detail_ref(), "406", "The Accept header allows none of the media types here."
            )
        if has_body:
            answers["415"] = self._error(
                self._detail_ref(),
                "415",
                "The body is in a media type this operation does not read.",
            )
        if self.view.get_throttles():
            answers["429"] = self._error(
                self._detail_ref(),
                "429",
                "Too many requests: try again later.",
                headers={
                    "Retry-After": {
                        "schema": {"type": "integer"},
                        "description": "Seconds to wait before trying again.",
                    }
                },
            )
        return answers

    def _may_forbid(self, authenticators: list) -> bool:
        if any(not isinstance(p, NOT_FORBIDDING) for p in self.view.get_permissions()):
            return True
        session = any(isinstance(a, SessionAuthentication) for a in authenticators)
        return session and self.method in UNSAFE_METHODS

    def _detail_ref(self) -> dict:
        return self.resolve_serializer(ErrorDetailSerializer, "response").ref

    def _error(self, schema: dict, code: str, description: str, headers=None) -> dict:
        response = self._get_response_for_code(schema, code)
        response["description"] = description
        if headers:
            response["headers"] = headers
        return response
