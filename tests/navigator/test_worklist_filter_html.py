"""The worklist page's filter form is drawn once per process for each state of what it
shows (navigator.worklist.filter_html): the page and the htmx fragment are the same,
byte for byte but for the CSRF token, as drawn without the cache (the menus iterated
by the template engine), for every role that opens the page, filters, empty and full
lists, errors and searches; and whatever the form reads changes its key."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from navigator.models import BarrierType
from navigator.views import lists
from navigator.worklist import filter_html
from patients.models import Clinic, ScreeningProgram
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/worklist/"
_TOKEN = re.compile(
    r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": "|data-csrf-token=")[A-Za-z0-9]+'
)


def _without_token(html: bytes) -> str:
    return _TOKEN.sub(r"\1TOKEN", html.decode())


@pytest.fixture(autouse=True)
def _empty_cache():
    filter_html.forget_drawn()
    yield
    filter_html.forget_drawn()


def _plain(client, monkeypatch, method: str, data: dict, headers: dict) -> str:
    """The answer as drawn before the cache: the menus fetched by the template engine
    while drawing them, no key."""
    with monkeypatch.context() as m:
        m.setattr(lists, "menus_fetched", lambda form: None)
        m.setattr(lists, "filters_key", lambda *args, **kwargs: None)
        response = getattr(client, method)(URL, data, headers=headers)
    return _without_token(response.content)


def _agrees(client, monkeypatch, *, method="get", data=None, headers=None, cached=True) -> str:
    data = data or {}
    headers = headers or {}
    plain = _plain(client, monkeypatch, method, data, headers)
    before = len(filter_html._DRAWN)
    first = _without_token(getattr(client, method)(URL, data, headers=headers).content)
    again = _without_token(getattr(client, method)(URL, data, headers=headers).content)
    assert first == plain
    assert again == plain
    # The state is kept (for errors and searches, never).
    if cached:
        assert filter_html._DRAWN
    else:
        assert len(filter_html._DRAWN) == before
    return plain


@pytest.fixture
def menus(db):
    program = ScreeningProgram.objects.order_by("name").first()
    clinic = factories.ClinicFactory(code="north", name="North <Clinic> & Co")
    barrier = BarrierType.objects.order_by("name").first()
    return program, clinic, barrier


def _cases(navigator, n: int, clinic=None) -> None:
    for _ in range(n):
        kwargs = {"patient__clinic": clinic} if clinic else {}
        factories.CaseFactory(navigator=navigator, **kwargs)


FILTERS = [
    {},
    {"sort": "follow_up"},
    {"program": "colorectal"},
    {"status": "new", "language": "es", "overdue": "on"},
    {"language": "yo"},  # outside the menu: added to it, chosen
    {"clinic": "north", "barrier": "transportation", "sort": "-follow_up"},
    {"page": "2"},
]


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("full", [False, True])
def test_a_navigators_page_and_fragment_are_drawn_as_without_the_cache(
    client, monkeypatch, navigator, menus, filters, full
):
    if full:
        _cases(navigator, 3, clinic=menus[1])
    client.force_login(navigator.user)
    _agrees(client, monkeypatch, data=filters)
    _agrees(client, monkeypatch, data=filters, headers={"HX-Request": "true"})
    _agrees(client, monkeypatch, method="post", data=filters, headers={"HX-Request": "true"})


@pytest.mark.parametrize(
    "data",
    [
        {"program": "no-such-program"},
        {"sort": "sideways"},
        {"navigator": "abc"},
        {"overdue": "maybe"},
    ],
)
def test_a_form_with_errors_is_drawn_afresh_as_before(client, monkeypatch, navigator, menus, data):
    client.force_login(navigator.user)
    _agrees(client, monkeypatch, data=data, cached=False)


def test_a_search_is_drawn_afresh_and_never_kept(client, monkeypatch, navigator, menus):
    _cases(navigator, 2)
    client.force_login(navigator.user)
    html = _agrees(client, monkeypatch, method="post", data={"q": "Smith <b>"}, cached=False)
    assert "Smith &lt;b&gt;" in html
    assert not any("Smith" in str(key) for key in filter_html._DRAWN)


def test_a_managers_view_of_a_navigators_list_is_drawn_as_without_the_cache(
    client, monkeypatch, navigator, manager, menus
):
    _cases(navigator, 2)
    client.force_login(manager)
    html = _agrees(client, monkeypatch, data={"navigator": navigator.pk})
    assert f'{reverse("navigator:worklist")}?navigator={navigator.pk}"' in html
    # The manager's own list (no navigator): another key, the Clear link without one.
    own = _agrees(client, monkeypatch)
    assert f'?navigator={navigator.pk}" class' not in own


def _page(client) -> str:
    return _without_token(client.get(URL).content)


def test_a_menu_changed_in_the_database_is_a_new_form(client, navigator, menus):
    client.force_login(navigator.user)
    first = _page(client)
    assert first == _page(client)
    # A clinic added, a program renamed, a barrier type removed: each is shown at once.
    Clinic.objects.create(code="south", name="South Clinic")
    assert 'value="south">South Clinic</option>' in _page(client)
    program = ScreeningProgram.objects.order_by("name").first()
    program.name = "Renamed program"
    program.save()
    assert ">Renamed program</option>" in _page(client)
    existing = BarrierType.objects.order_by("name").first()
    added = BarrierType.objects.create(
        category=existing.category, code="zz-new-barrier", name="A new barrier"
    )
    assert 'value="zz-new-barrier">A new barrier</option>' in _page(client)
    added.delete()
    assert "zz-new-barrier" not in _page(client)


def test_the_role_the_language_and_the_filters_make_new_keys(client, navigator, manager, menus):
    client.force_login(navigator.user)
    client.get(URL)
    client.get(URL, {"program": "colorectal"})
    client.get(URL, {"program": "colorectal", "overdue": "on"})
    assert len(filter_html._DRAWN) == 3
    with translation.override("es"):
        client.get(URL)
    assert len(filter_html._DRAWN) == 4
    assert {key[0] for key in filter_html._DRAWN} == {"en-us", "es"}
    client.force_login(manager)
    client.get(URL, {"navigator": navigator.pk})
    assert len(filter_html._DRAWN) == 5


def test_the_count_and_the_rows_are_never_kept(client, navigator, menus):
    client.force_login(navigator.user)
    assert "<strong>0</strong> open cases" in _page(client)
    _cases(navigator, 2)
    html = _page(client)
    assert "<strong>2</strong> open cases" in html
    assert html.count('class="worklist-row') == 2


def test_the_cache_is_bounded(client, navigator, menus, monkeypatch):
    monkeypatch.setattr(filter_html, "MAX_ENTRIES", 2)
    client.force_login(navigator.user)
    for sort in ("follow_up", "-follow_up", "priority"):
        client.get(URL, {"sort": sort})
    assert len(filter_html._DRAWN) <= 2


def test_the_page_takes_no_more_queries_than_drawn_without_the_cache(
    client, monkeypatch, navigator, menus, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _cases(navigator, 2)
    client.force_login(navigator.user)
    client.get(URL)
    with monkeypatch.context() as m:
        m.setattr(lists, "menus_fetched", lambda form: None)
        m.setattr(lists, "filters_key", lambda *args, **kwargs: None)
        with CaptureQueriesContext(connection) as plain:
            client.get(URL)
    filter_html.forget_drawn()
    with django_assert_num_queries(len(plain.captured_queries)):
        client.get(URL)  # drawn
    with django_assert_num_queries(len(plain.captured_queries)):
        client.get(URL)  # kept


def test_a_menu_filtered_on_the_form_is_read_through_the_orm_as_filtered(menus):
    from navigator.forms.lists import WorklistFilterForm

    factories.ClinicFactory(code="south", name="South Clinic")
    for _ in range(2):  # the second time, the unfiltered menu's SQL is kept
        form = WorklistFilterForm({})
        filter_html.menus_fetched(form)
        assert ("south", "South Clinic") in form.fields["clinic"].widget.choices
    form = WorklistFilterForm({})
    form.fields["clinic"].queryset = Clinic.objects.filter(code="north")
    filter_html.menus_fetched(form)
    assert form.fields["clinic"].widget.choices == [
        ("", "Any clinic"),
        ("north", "North <Clinic> & Co"),
    ]
