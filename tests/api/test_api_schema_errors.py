"""The schema documents each operation's error responses (config/api_schema.py), only
those it can give, in the shapes the API answers with (issue 14, item 6)."""

from __future__ import annotations

import pytest
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

DETAIL = {"$ref": "#/components/schemas/ErrorDetail"}
FIELD_ERRORS = {"$ref": "#/components/schemas/FieldErrors"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def codes(schema: dict, method: str, route: str) -> set[str]:
    return set(schema["paths"][route][method]["responses"])


def body(response: dict) -> dict:
    return response["content"]["application/json"]["schema"]


def test_a_filtered_paginated_list_for_some_roles_documents_400_401_403_and_404(schema):
    assert codes(schema, "get", "/api/cases/") == {"200", "400", "401", "403", "404", "406"}


def test_an_operation_without_input_documents_no_400_and_no_404(schema):
    assert codes(schema, "get", "/api/team/") == {"200", "401", "403", "406"}


def test_a_read_open_to_any_signed_in_user_documents_no_403(schema):
    assert codes(schema, "get", "/api/patients/{id}/") == {"200", "401", "404", "406"}


def test_a_change_to_a_case_documents_its_201_415_and_409_only_with_a_version(schema):
    # A note takes no version: it cannot be stale
    assert codes(schema, "post", "/api/cases/{id}/notes/") == {
        "201", "400", "401", "403", "404", "406", "415",
    }  # fmt: skip
    assert "409" in codes(schema, "post", "/api/cases/{id}/transition/")
    assert "409" in codes(schema, "post", "/api/cases/{id}/unreachable/confirm/")


def test_the_signed_webhooks_document_403_and_no_401_nor_406(schema):
    # (and 429: they are rate-limited per address)
    assert codes(schema, "post", "/api/sms/inbound/") == {"200", "400", "403", "415", "429"}
    assert codes(schema, "post", "/api/sms/status/") == {
        "204", "400", "403", "404", "415", "429"
    }  # fmt: skip


def test_a_401_names_the_challenge_header_and_the_detail_shape(schema):
    response = schema["paths"]["/api/cases/"]["get"]["responses"]["401"]

    assert response["headers"]["WWW-Authenticate"]["required"] is True
    assert body(response) == DETAIL
    assert schema["components"]["schemas"]["ErrorDetail"]["required"] == ["detail"]


def test_a_400_is_field_errors_or_a_detail(schema):
    response = schema["paths"]["/api/cases/{id}/transition/"]["post"]["responses"]["400"]

    assert body(response) == {"anyOf": [FIELD_ERRORS, DETAIL]}
    assert schema["components"]["schemas"]["FieldErrors"]["type"] == "object"


def test_an_operations_own_error_response_wins(schema):
    # The upload documents its own 400 shape (detail, rows, errors)
    response = schema["paths"]["/api/referrals/upload/"]["post"]["responses"]["400"]

    assert body(response) == {"$ref": "#/components/schemas/ReferralUploadRejected"}


class ThrottledView(APIView):
    throttle_classes = [AnonRateThrottle]

    def get(self, request):
        return Response({})  # pragma: no cover


def test_an_operation_that_ignores_accept_documents_no_406(schema):
    assert codes(schema, "get", "/api/referrals/upload/template/") == {"200", "401", "403"}


def test_a_throttled_operation_documents_429_with_retry_after():
    generator = SchemaGenerator(patterns=[path("throttled/", ThrottledView.as_view())])
    schema = generator.get_schema(request=None, public=True)

    response = schema["paths"]["/throttled/"]["get"]["responses"]["429"]

    assert "Retry-After" in response["headers"]
    assert body(response) == DETAIL
