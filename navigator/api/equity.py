"""`GET /api/equity/`: the disparities dashboard's figures, with the same parameters,
scope, suppression and method texts as the page (`navigator.equity.dashboard`).

A suppressed group's numbers are `null`, never the real value; `suppressed` says why.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import roles_allowed
from navigator.equity.catalog import ALIASES, MEASURES
from navigator.equity.dashboard import EquityResult, equity_dashboard
from navigator.equity.query import EquityQuery, EquityQueryError
from navigator.equity.scope import ALL_DIMENSIONS, equity_scope
from navigator.equity.stats import GroupStatistics
from navigator.models import Role

EQUITY_ROLES = roles_allowed(Role.NAVIGATOR, Role.MANAGER, Role.CLINIC_STAFF)


class GroupSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    numerator = serializers.IntegerField(allow_null=True)
    denominator = serializers.IntegerField(allow_null=True)
    rate = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(allow_null=True)
    difference_ci_low = serializers.FloatField(allow_null=True)
    difference_ci_high = serializers.FloatField(allow_null=True)
    ratio = serializers.FloatField(allow_null=True)
    ratio_ci_low = serializers.FloatField(allow_null=True)
    ratio_ci_high = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    p_adjusted = serializers.FloatField(allow_null=True)
    test = serializers.ChoiceField(choices=["score", "fisher"], allow_null=True)
    significant = serializers.BooleanField(allow_null=True)
    meaningful = serializers.BooleanField(allow_null=True)
    suppressed = serializers.BooleanField()
    is_reference = serializers.BooleanField()


class CellSerializer(GroupSerializer):
    row = serializers.CharField()
    column = serializers.CharField()


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    label = serializers.CharField()


class QuarterSerializer(serializers.Serializer):
    period = PeriodSerializer()
    groups = GroupSerializer(many=True)


class EquitySerializer(serializers.Serializer):
    measure = serializers.CharField()
    measure_label = serializers.CharField()
    program = serializers.CharField()
    period = PeriodSerializer(allow_null=True)
    periods = PeriodSerializer(many=True)
    stratify = serializers.ListField(child=serializers.CharField())
    reference = serializers.CharField(allow_null=True)
    groups = GroupSerializer(many=True)
    cells = CellSerializer(many=True)
    quarters = QuarterSerializer(many=True)
    story = serializers.ListField(child=serializers.CharField())
    method = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())
    unavailable = serializers.CharField(allow_null=True)


def _group(row: GroupStatistics) -> dict[str, Any]:
    data = asdict(row)
    data["key"] = str(row.key)
    return data


def as_payload(result: EquityResult) -> dict[str, Any]:
    """The result as the API (and the CSV) present it."""
    cells = []
    if result.two_way is not None:
        for (row, column), statistics in result.two_way.cells.items():
            cells.append(
                {**_group(statistics), "key": f"{row}|{column}", "row": row, "column": column}
            )
    return {
        "measure": result.measure.key,
        "measure_label": result.measure.label,
        "program": result.program_code,
        "period": result.period._asdict() if result.period else None,
        "periods": [period._asdict() for period in result.periods],
        "stratify": list(result.query.stratify),
        "reference": None if result.reference is None else str(result.reference),
        "groups": [_group(group) for group in result.groups],
        "cells": cells,
        "quarters": [
            {"period": row.period._asdict(), "groups": [_group(g) for g in row.groups]}
            for row in result.quarters
        ],
        "story": result.story,
        "method": result.methods,
        "warnings": result.warnings,
        "unavailable": result.unavailable,
    }


class EquityView(APIView):
    """Screening and navigation rates by group, compared with a reference group, with
    95% intervals, Holm-adjusted p-values and AHRQ's "meaningful" flag; small cells
    suppressed. Managers see everyone, clinic staff their clinic, navigators their
    own caseload."""

    permission_classes = [EQUITY_ROLES]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "measure", str, enum=[*MEASURES, *ALIASES], description="Default CMS130."
            ),
            OpenApiParameter("program", str, description="Programme code (navigation measures)."),
            OpenApiParameter("period_start", str, description="YYYY-MM-DD; with period_end."),
            OpenApiParameter("period_end", str, description="YYYY-MM-DD; default: the latest."),
            OpenApiParameter(
                "stratify",
                str,
                description="One or two of: " + ", ".join(sorted(ALL_DIMENSIONS)) + " (comma).",
            ),
            OpenApiParameter("reference", str, description="The reference group's key."),
            OpenApiParameter("quarters", bool, description="Add the quarterly series."),
            OpenApiParameter("race_rule", str, enum=["exclusive", "any"]),
            OpenApiParameter("age_adjust", bool),
        ],
        responses={200: EquitySerializer},
    )
    def get(self, request: Request) -> Response:
        try:
            query = EquityQuery.from_params(
                request.query_params,
                scope=equity_scope(request.user),  # type: ignore[arg-type]
            )
            result = equity_dashboard(user=request.user, query=query)  # type: ignore[arg-type]
        except EquityQueryError as error:
            raise ValidationError(error.errors) from error
        return Response(as_payload(result))
