"""`GET /api/equity/`: the disparities dashboard's figures, with the same parameters,
scope, suppression and method texts as the page (`navigator.equity.dashboard`).

A suppressed group's numbers are `null`, never the real value; `suppressed` says why.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import roles_allowed
from config.db_router import reads_from_replica
from navigator.equity.catalog import ALIASES, MEASURES
from navigator.equity.dashboard import EquityResult, equity_dashboard
from navigator.equity.query import EquityQuery, EquityQueryError
from navigator.equity.scope import ALL_DIMENSIONS, equity_scope
from navigator.equity.stats import GroupStatistics
from navigator.models import CASEWORK_ROLES, Role
from patients.caregaps.periods import parse_period_label, period_between
from patients.caregaps.population_measures import POPULATION_MEASURES
from patients.services.measure_populations import measure_period_request

EQUITY_ROLES = roles_allowed(*CASEWORK_ROLES, Role.MANAGER, Role.CLINIC_STAFF)
MANAGER_ONLY = roles_allowed(Role.MANAGER)
# Longer windows are not what any of the measures means by a measurement period.
LONGEST_PERIOD_DAYS = 731


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


class AdjustedRateSerializer(serializers.Serializer):
    key = serializers.CharField()
    rate = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)


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
    age_adjusted = AdjustedRateSerializer(many=True)
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
        "age_adjusted": [
            {"key": str(key), "rate": rate.rate, "ci_low": rate.ci_low, "ci_high": rate.ci_high}
            for key, rate in result.age_adjusted.items()
        ],
        "story": result.story,
        "method": result.methods,
        "warnings": result.warnings,
        "unavailable": result.unavailable,
    }


class PeriodRequestSerializer(serializers.Serializer):
    measure = serializers.ChoiceField(choices=sorted(POPULATION_MEASURES))
    period = serializers.CharField(
        required=False, help_text="2025Q1 (a rolling quarter) or 2025 (a calendar year)."
    )
    period_start = serializers.DateField(required=False)
    period_end = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end, label = attrs.get("period_start"), attrs.get("period_end"), attrs.get("period")
        if label and (start or end):
            raise serializers.ValidationError(
                {"period": "Give a period label or period_start and period_end, not both."}
            )
        if label:
            try:
                attrs["resolved"] = parse_period_label(label)
            except ValueError as error:
                raise serializers.ValidationError({"period": str(error)}) from error
            return attrs
        if not (start and end):
            raise serializers.ValidationError(
                {"period": "Give a period label (2025Q1, 2025) or period_start and period_end."}
            )
        if end < start:
            raise serializers.ValidationError({"period_end": "The period ends before it starts."})
        if (end - start).days > LONGEST_PERIOD_DAYS:
            raise serializers.ValidationError(
                {"period_end": "A measurement period is at most two years long."}
            )
        attrs["resolved"] = period_between(start, end)
        return attrs


class PeriodRequestView(APIView):
    """Compute a population measure for another period, for everyone, in the
    background; the period is listed by `GET /api/equity/` once it is complete."""

    permission_classes = [MANAGER_ONLY]

    @extend_schema(request=PeriodRequestSerializer, responses={202: PeriodSerializer})
    def post(self, request: Request) -> Response:
        serializer = PeriodRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        period = serializer.validated_data["resolved"]
        measure_period_request(measure=serializer.validated_data["measure"], period=period)
        return Response(period._asdict(), status=status.HTTP_202_ACCEPTED)


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
    @reads_from_replica
    def get(self, request: Request) -> Response:
        try:
            query = EquityQuery.from_params(
                request.query_params,
                scope=equity_scope(request.user),
            )
            result = equity_dashboard(user=request.user, query=query)
        except EquityQueryError as error:
            raise ValidationError(
                {field: [message] for field, message in error.errors.items()}
            ) from error
        return Response(as_payload(result))
