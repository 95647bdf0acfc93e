"""Reads of what results mean: the categories a test's result is recorded in, and
the follow-up pathway (next step, time target) a category calls for.

The rules themselves are data (patients.models.results), seeded from guidelines
and edited by managers through patients.services.result_pathways.
"""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from patients.models import (
    FollowUpPathway,
    ResultCategory,
    ScreeningModality,
    ScreeningProgram,
)


def result_categories_for(modality: ScreeningModality) -> QuerySet[ResultCategory]:
    """The active categories a test's result may be recorded in, in the program's order."""
    return ResultCategory.objects.filter(modalities=modality, active=True).order_by("order", "name")


def result_category_choices(program: ScreeningProgram) -> list[tuple[str, str]]:
    """Every active category of a program, as (code, name), for a form's choices."""
    return list(
        ResultCategory.objects.filter(program=program, active=True)
        .order_by("order", "name")
        .values_list("code", "name")
    )


def result_category_for(*, modality: ScreeningModality, code: str) -> ResultCategory | None:
    """The category `code` if results of this test are recorded in it, else None."""
    return result_categories_for(modality).filter(code=code).first()


def pathway_for(*, category: ResultCategory, modality: ScreeningModality) -> FollowUpPathway | None:
    """The active pathway for this test's result in this category: one written for the
    test itself wins over one for any test reporting the category."""
    return (
        FollowUpPathway.objects.filter(category=category, active=True)
        .filter(Q(modality=modality) | Q(modality__isnull=True))
        .select_related("next_modality")
        .order_by(F("modality_id").asc(nulls_last=True))  # the test's own first
        .first()
    )


def pathways_of(program: ScreeningProgram) -> QuerySet[FollowUpPathway]:
    return FollowUpPathway.objects.filter(program=program).select_related(
        "category", "modality", "next_modality"
    )
