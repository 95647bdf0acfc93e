"""Change history of the clinical records, kept by PostgreSQL triggers.

`history_track(Model)` has django-pghistory snapshot a row on every insert and on
every update of any column, into `<Model>Change` (append-only), with the request's
context (user id, path, request id; `ChangeContextMiddleware`). Triggers see what the
ORM's `save()` never does: a bulk `update()`, raw SQL, a psql session.

Snapshots keep only values that are not PHI: ids (the row's, its patient's, the
actor's), codes from a fixed list (status, outcome, kind), booleans and counts
(`snapshot_fields`). A change to a name, a note, a phone number or a date is still
recorded (the trigger fires on any column) without its value.

`never_deleted(Model)` refuses DELETE at the database; `never_rewritten(Model)`
refuses UPDATE and DELETE (the timeline). On SQLite, the embedded default, there
are no triggers: the services and the read-only admin are the only writers there.
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.db import models

# Field classes whose values say nothing about a person beyond a code or a count.
_PHI_FREE_TYPES = (models.BooleanField, models.IntegerField)


def phi_free(field: models.Field) -> bool:
    """An id, a code from a fixed list, a flag or a count: safe to keep in history."""
    if field.primary_key or field.is_relation:
        return True
    if field.choices:
        return True
    return isinstance(field, _PHI_FREE_TYPES)


def snapshot_fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if phi_free(f)]


def history_track(model: type[models.Model]) -> type[models.Model]:
    every_column = [f.name for f in model._meta.concrete_fields]
    pghistory.track(
        pghistory.InsertEvent(),
        pghistory.UpdateEvent(condition=pgtrigger.AnyChange(*every_column)),
        fields=snapshot_fields(model),
        append_only=True,
        model_name=f"{model.__name__}Change",
    )(model)
    return model


def never_deleted(model: type[models.Model]) -> type[models.Model]:
    pgtrigger.register(pgtrigger.Protect(name="never_deleted", operation=pgtrigger.Delete))(model)
    return model


def never_rewritten(model: type[models.Model]) -> type[models.Model]:
    pgtrigger.register(
        pgtrigger.Protect(name="never_rewritten", operation=pgtrigger.Update | pgtrigger.Delete)
    )(model)
    return model
