"""`PlainSelect` (navigator/forms/base.py) writes a menu in Python: the same HTML as
Django's own select templates, for the worklist's filter menus in every state."""

from __future__ import annotations

import pytest
from django import forms
from django.utils.safestring import mark_safe

from navigator.forms.base import PlainSelect
from navigator.forms.lists import WorklistFilterForm
from navigator.models import BarrierType
from patients.models import ScreeningProgram
from tests import factories

pytestmark = pytest.mark.django_db

MENUS = ("program", "status", "language", "clinic", "barrier", "sort")


def _drawn(form: WorklistFilterForm) -> dict[str, str]:
    return {name: str(form[name]) for name in MENUS}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {
            "status": "new",
            "language": "es",
            "sort": "patient",
            "program": "colorectal",
            "clinic": "east",
        },
        # A language outside the menu (added to it), values refused with an error.
        {"language": "haw", "clinic": "nowhere", "barrier": "<b>&\"'", "sort": "bad"},
    ],
)
def test_the_worklist_menus_are_drawn_as_django_draws_them(data, monkeypatch):
    # Given programs, clinics and barrier types, one with characters to escape
    ScreeningProgram.objects.filter(code="colorectal").update(name="Colorectal <b> & 'more'")
    BarrierType.objects.filter(pk=factories.barrier_type("transportation").pk).update(
        name='Needs a "ride"'
    )
    factories.ClinicFactory(code="east", name="East & west")
    form = WorklistFilterForm(data, id_prefix="worklist", search_url="/worklist/")
    form.is_valid()
    assert all(isinstance(form.fields[name].widget, PlainSelect) for name in MENUS)
    # When each menu is drawn by PlainSelect, and then by Django's templates
    plain = _drawn(form)
    monkeypatch.setattr(PlainSelect, "render", forms.Select.render)
    by_templates = _drawn(WorklistFilterForm(data, id_prefix="worklist", search_url="/worklist/"))
    # Then the HTML is the same, character for character
    assert plain == by_templates


def test_attributes_true_false_and_safe_values_are_written_as_the_templates_write_them():
    widget = PlainSelect(
        attrs={"required": True, "disabled": False, "data-x": mark_safe("<i>"), "title": "<i>"},
        choices=[("", "---"), ("Group <1>", [("a", "A & a"), (mark_safe("<b>"), "B")])],
    )
    plain = widget.render("menu", "a", attrs={"id": "id_menu"})
    assert plain == forms.Select.render(widget, "menu", "a", attrs={"id": "id_menu"})


@pytest.mark.parametrize(
    ("choices", "value"),
    [
        ([("", "Any"), ("a", "A"), ("b", "B")], None),
        ([("", "Any"), ("a", "A"), ("b", "B")], "b"),
        ([("", "Any"), ("a", "A"), ("b", "B")], "nothing"),
        # The first match only is selected, as Django selects it.
        ([("a", "A"), ("a", "A again"), ("b", "B")], "a"),
        # None as a value is the empty one; numbers compare as text.
        ([(None, "None <at all>"), (1, "One"), (2, 'Two "2"')], 2),
        ([(None, "None"), (1, "One")], ""),
        # Groups, a selected option inside one, an empty group, a group named ''.
        (
            [
                ("", "---"),
                ("North & south", [("n", "N"), ("s", "S <s>")]),
                ("Empty", []),
                ("", [("x", "X")]),
            ],
            "s",
        ),
        ([("g", [("a", "A"), ("b", "B")]), ("a", "A outside")], "a"),
    ],
)
def test_every_shape_of_menu_is_drawn_as_the_templates_draw_it(choices, value):
    widget = PlainSelect(choices=choices, attrs={"class": "menu"})
    for attrs in (None, {"id": "id_menu", "aria-describedby": "help"}):
        plain = widget.render("menu", value, attrs=attrs)
        assert plain == forms.Select.render(widget, "menu", value, attrs=attrs)


def test_a_subclass_that_changes_the_options_is_drawn_by_django():
    class Numbered(PlainSelect):
        def create_option(self, *args, **kwargs):
            option = super().create_option(*args, **kwargs)
            option["attrs"]["data-index"] = option["index"]
            return option

    widget = Numbered(choices=[("a", "A"), ("b", "B")])
    plain = widget.render("menu", "b")
    assert 'data-index="1"' in plain
    assert plain == forms.Select.render(widget, "menu", "b")
