"""The worklist page's filter form, drawn once per process for each state of what it
shows, then reused.

Drawing the form (the search box, six menus of about a hundred options, the checkbox,
their labels through the template engine) cost about as much CPU as everything else
in the page's template; a navigator's form looks the same from one request to the
next. `filters_key` names everything the drawn form reads (see the block between
`{% cached_filters %}` and `{% end_cached_filters %}` in `_worklist_results.html`), so
that equal keys mean equal HTML:

- the menus' choices as fetched for this request (`menus_fetched` runs the model menus'
  queries once, as drawing them did, and hands the rows to the widgets): a program,
  clinic or barrier type added, renamed or removed is a new key;
- every field's value as its widget shows it, bound or not, and the field's choices;
- the active language, the script prefix (the form's URLs), the "filters in use"
  state and the navigator the Clear link keeps.

The CSRF token is outside the cached block (drawn per request). A form with errors, or
with a search typed in it, is never cached (errors are rare; what is typed in the
search box is patient information and would make every keystroke a new entry): it is
drawn as before. The cache is per process and bounded (`MAX_ENTRIES`, emptied when
full).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.urls import get_script_prefix
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from navigator.worklist.replayed import replayed_instances

MAX_ENTRIES = 512

_DRAWN: dict[tuple[Any, ...], SafeString] = {}


def menus_fetched(form: forms.Form) -> None:
    """Fetch each model menu's choices now (one query each, as drawing the menu ran)
    and give its widget those rows as plain (value, label) pairs: what
    ModelChoiceIterator yields, as the widget writes it, so the key can name them and
    drawing them runs no query again.

    A menu's queryset is its form class's (no filter, an order: the same SQL on every
    request), so its SQL is compiled once per process, database and order
    (navigator.worklist.replayed); the rows are read on every request. A menu filtered
    (say, by who asks) is left to the ORM."""
    for name, field in form.fields.items():
        if not isinstance(field, forms.ModelChoiceField) or field.queryset is None:
            continue
        queryset = field.queryset
        choices: list[tuple[str, str]] = []
        if field.empty_label is not None:
            choices.append(("", str(field.empty_label)))
        for obj in _menu_rows(form, name, queryset):
            value = field.prepare_value(obj)
            label = str(field.label_from_instance(obj))
            choices.append(("" if value is None else str(value), label))
        field.widget.choices = choices


def _menu_rows(form: forms.Form, name: str, queryset: QuerySet[Any]) -> list[Any]:
    query = queryset.query
    if query.where or query.is_sliced or query.extra or query.annotations:
        return list(queryset)  # filtered here (by user, say): the ORM each time
    key = ("worklist menu", type(form).__qualname__, name, queryset.db, *query.order_by)
    return replayed_instances(key, lambda: queryset)


def _choices(widget: forms.Widget) -> tuple[Any, ...]:
    options = getattr(widget, "choices", None)
    if options is None:
        return ()
    return tuple((str(value), str(label)) for value, label in options)


def filters_key(
    form: forms.Form, *, filters_open: bool, clear_navigator: int | None
) -> tuple[Any, ...] | None:
    """What the cached block of the filter form reads, or None when it must be drawn
    afresh (errors, or a search typed). Call after `form.is_valid()` and
    `menus_fetched(form)`."""
    if form.errors or str(form.data.get("q") or ""):
        return None
    fields = tuple(
        (
            name,
            bound.auto_id,
            repr(bound.value()),
            _choices(bound.field.widget),
            tuple(sorted((k, str(v)) for k, v in bound.field.widget.attrs.items())),
        )
        for name, bound in ((name, form[name]) for name in form.fields)
    )
    return (
        get_language(),
        get_script_prefix(),
        form.is_bound,
        filters_open,
        clear_navigator,
        fields,
    )


def drawn(key: tuple[Any, ...] | None, draw) -> SafeString:
    """The block's HTML for `key`, drawn by `draw()` when not yet kept (always when
    `key` is None)."""
    if key is None:
        return draw()
    html = _DRAWN.get(key)
    if html is None:
        html = draw()
        if len(_DRAWN) >= MAX_ENTRIES:
            _DRAWN.clear()
        _DRAWN[key] = html
    return html


def forget_drawn() -> None:
    """Empty the cache (tests)."""
    _DRAWN.clear()
