"""Model instances from raw rows, as `Model.from_db` builds them, without running
`Model.__init__` per row: `instance_maker` and `populator`.

A worklist page builds about 250 instances (each case with its patient, navigator
and their users); `Model.__init__` (signals sent, a `setattr` per field through the
field's descriptor) was a fifth of the API's Python. Where that constructor does
nothing but store the values (no `pre_init`/`post_init` receivers, no `__init__` of
the model's own, `from_db` Django's or the audit trail's), the instance is filled
directly (a field whose descriptor converts on assignment, a phone number, still
assigned through it, in place): the same `__dict__`, the
same `_state`, the audit trail's patient noted just as `AuditedRead.from_db` notes it.
Anything else goes through `from_db` as before. tests/navigator/test_worklist_built.py
holds the two equal.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from django.db.models import Model, signals
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute

from navigator.audit.recording import AuditedRead, note_loaded_patient

Maker = Callable[[str, Any, Any], Any]


def _stores_only(descriptor: object) -> bool:
    """Whether assigning through `descriptor` on a fresh instance only stores the value
    in `__dict__`: no descriptor, one without `__set__` (Django's deferred attribute),
    or a foreign key's id (its `__set__` drops a cached related object a fresh instance
    has not got)."""
    kind = type(descriptor)
    if kind is ForeignKeyDeferredAttribute:
        return True
    return not hasattr(kind, "__set__")


@functools.cache
def _construction(model: type[Model]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """If `model(*values)` only stores the values (see the module's docstring): the
    attnames it stores, in order, and those among them whose descriptor converts on
    assignment (a phone number's); else None."""
    for klass in model.__mro__:
        if klass in (Model, object):
            continue
        if "__init__" in vars(klass):
            return None
    from_db_owners = [k for k in model.__mro__ if "from_db" in vars(k)]
    if from_db_owners not in ([Model], [AuditedRead, Model]):
        return None
    attnames = tuple(field.attname for field in model._meta.concrete_fields)
    converting = []
    for attname in attnames:
        try:
            descriptor = inspect.getattr_static(model, attname)
        except AttributeError:
            continue
        if not _stores_only(descriptor):
            converting.append(attname)
    return attnames, tuple(converting)


def instance_maker(model: type[Model]) -> Maker:
    """A function answering as `model.from_db(db, field_names, values)` does."""
    construction = _construction(model)
    if (
        construction is None
        or signals.pre_init.has_listeners(model)
        or signals.post_init.has_listeners(model)
    ):
        return model.from_db
    attnames, converting = construction
    count = len(attnames)
    audited = model.audit_patient_attname if issubclass(model, AuditedRead) else None
    new = object.__new__
    from_db = model.from_db

    def make(db: str, field_names: Any, values: Any) -> Any:
        if len(values) != count:  # deferred fields: from_db fills in DEFERRED
            return from_db(db, field_names, values)
        instance = new(model)
        state = ModelState()
        state.adding = False
        state.db = db
        attributes = instance.__dict__
        attributes["_state"] = state
        attributes.update(zip(attnames, values, strict=True))
        for attname in converting:  # through the descriptor, as __init__'s setattr
            setattr(instance, attname, attributes[attname])
        if audited is not None:
            note_loaded_patient(attributes.get(audited))
        return instance

    return make


def populator(related: Any) -> Callable[[Any, Any, dict[Any, Any]], None]:
    """Django's `RelatedPopulator.populate` for `related` (one select_related step and
    those below it), its instances made by `instance_maker`; called with a dict kept
    for one read (`seen`), in which a related row met again in the same read (the
    navigator and their user on each of their 50 cases, the programme) is the
    instance already made for it, as `prefetch_related` shares one instance among the
    rows it is attached to. The same values, from the same statement's snapshot; about
    a third fewer instances a worklist page, and one navigator-user pair (the one-to-one
    refers both ways: a reference cycle, freed only by the garbage collector) where
    there were fifty."""
    make = instance_maker(related.model_cls)
    below = [populator(child) for child in related.related_populators]
    reorder = related.reorder_for_init
    start, end = related.cols_start, related.cols_end
    pk_index, init_list, db = related.pk_idx, related.init_list, related.db
    local_setter, remote_setter = related.local_setter, related.remote_setter

    def populate(row: Any, from_obj: Any, seen: dict[Any, Any]) -> None:
        data = reorder(row) if reorder else row[start:end]
        pk = data[pk_index]
        if pk is None:
            obj = None
        else:
            # The step's place in the row names it: the same model reached by two paths
            # (and so perhaps other columns) is two instances, as in Django.
            key = (start, pk)
            obj = seen.get(key)
            if obj is None:
                obj = seen[key] = make(db, init_list, data)
                for step in below:
                    step(row, obj, seen)
                remote_setter(obj, from_obj)
        local_setter(from_obj, obj)

    return populate
