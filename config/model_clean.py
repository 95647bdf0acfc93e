"""`Model.full_clean` for many instances of one model, each field's answer remembered
per value: `FieldsCleaner`.

A bulk import checks every new row as a single save does (`full_clean`), and most of a
row's fields repeat from row to row (its sex, language, statuses, the defaults): Django
runs each field's `to_python`, choices and validators again for each (about a quarter of
a referral import's Python). Both bulk imports of new patients check them with one
cleaner per batch (`patients.services.patients.patients_cleaner`): the referral import
(`navigator/intake/referral_batch.py`) and the FHIR bulk import
(`patients/fhir/bulk_write.py`).

`FieldsCleaner.full_clean(obj)` gives what
`obj.full_clean(exclude=..., validate_unique=False, validate_constraints=False)` gives
(the same cleaned values set, the same `ValidationError` by field, `Model.clean` run
too), calling `Field.clean` once per distinct (field, value) for the cleaner's life.

Only for fields whose check depends on the value alone (not on other fields, nor on
the database): a model with such a field (a `ForeignKey`'s check reads the database)
excludes it. A check that depends on the day (a birth date not in the future) holds
for a cleaner that lives within a batch: build one per batch, never per process.
A value is remembered by its type and `==`: two equal values of one type must be
checked alike (true of str, int, bool, date, datetime; not of Decimal, where 1.0 and
1.00 are equal but have different digits). tests/patients/test_patient_clean.py
compares it with `full_clean` on both imports' patients.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.expressions import DatabaseDefault

# A field's clean gave back the very value it was given: each object keeps its own (two
# equal datetimes may differ in their time zone; full_clean leaves each its own).
_UNCHANGED = object()


class FieldsCleaner:
    """`full_clean` without unique or constraint checks, remembered per field value."""

    def __init__(self, model: type[models.Model], *, exclude: Collection[str] = ()) -> None:
        self.model = model
        self.exclude = set(exclude)
        # As Model.clean_fields walks them.
        self.fields = [
            field
            for field in model._meta.fields
            if field.name not in self.exclude and not field.generated
        ]
        self._answers: dict[models.Field, dict[tuple[type, Any], tuple[bool, Any]]] = {
            field: {} for field in self.fields
        }

    def full_clean(self, obj: models.Model) -> None:
        """As `obj.full_clean(exclude=..., validate_unique=False,
        validate_constraints=False)`."""
        errors: dict[str, Any] = {}
        for field in self.fields:
            raw = getattr(obj, field.attname)
            # Model.clean_fields: a blank-able field's empty value is not checked.
            if field.blank and raw in field.empty_values:
                continue
            # Nor a value the database gives (db_default).
            if isinstance(raw, DatabaseDefault):
                continue
            answers = self._answers[field]
            try:
                # The type too: 1 and True (and 1.0) are one key to a dict.
                key = (type(raw), raw)
                answer = answers.get(key)
            except TypeError:  # not hashable (a list, a dict): not remembered
                key, answer = None, None
            if answer is None:
                try:
                    cleaned = field.clean(raw, obj)
                    answer = (True, _UNCHANGED if cleaned is raw else cleaned)
                except ValidationError as error:
                    answer = (False, error.error_list)
                if key is not None:
                    answers[key] = answer
            ok, value = answer
            if ok:
                if value is not _UNCHANGED:
                    setattr(obj, field.attname, value)
            else:
                errors[field.name] = value
        if errors:
            errors = ValidationError(errors).update_error_dict({})
        try:
            obj.clean()  # as full_clean: run even when a field failed
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)
