"""Log lines are JSON with a request id, carry only their own fields, and withhold
exception messages (issue 14, item 5; config.log_format, LOGGING in settings)."""

from __future__ import annotations

import json
import logging
import textwrap

import pytest
from django.urls import reverse

from config.log_format import WITHHELD, JsonFormatter, RequestIdFilter, TextFormatter
from config.request_id import set_request_id
from tests.support.settings_process import run_with_settings


def _record(message: str, *args, level=logging.WARNING, exc_info=None, **extra):
    record = logging.LogRecord("equinav.test", level, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    RequestIdFilter().filter(record)
    return record


class FakeRequest:
    request_id = "from-the-record"

    def __repr__(self) -> str:
        return "<WSGIRequest: GET '/navigator/worklist/?q=Zzformatname'>"


def test_a_json_line_has_timestamp_level_logger_message_and_request_id():
    set_request_id("req-json-1")
    try:
        line = json.loads(JsonFormatter().format(_record("case %s assigned", 42)))
    finally:
        set_request_id("")

    assert line.keys() == {"timestamp", "level", "logger", "message", "request_id"}
    assert line["level"] == "WARNING"
    assert line["logger"] == "equinav.test"
    assert line["message"] == "case 42 assigned"
    assert line["request_id"] == "req-json-1"
    assert line["timestamp"].endswith("+00:00")


def test_a_json_line_leaves_out_what_django_attaches_to_its_records():
    # Django's request records carry the whole request (its repr has the query string)
    record = _record("Not Found: %s", "/navigator/worklist/", request=FakeRequest(),
                     status_code=404, server_time="now", phone="+16175550166")  # fmt: skip

    text = JsonFormatter().format(record)

    assert "Zzformatname" not in text
    assert "5550166" not in text
    line = json.loads(text)
    assert line["status_code"] == 404
    # outside a request, the id Django's record carries is used
    assert line["request_id"] == "from-the-record"


def _raise_with_a_cause() -> tuple:
    try:
        try:
            # (joined here, so that the traceback's source lines do not show them)
            int("Zz" + "exceptionname")
        except ValueError as error:
            raise LookupError("MRN EXC-" + "MRN-5521 not found") from error
    except LookupError as error:
        return (type(error), error, error.__traceback__)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()], ids=["json", "text"])
def test_an_exception_is_logged_with_its_type_and_traceback_but_not_its_message(formatter):
    record = _record("failed", exc_info=_raise_with_a_cause(), level=logging.ERROR)

    text = formatter.format(record)

    assert "Zzexceptionname" not in text
    assert "EXC-MRN-5521" not in text
    assert f"builtins.ValueError: {WITHHELD}" in text.replace("\\n", "\n")
    assert f"builtins.LookupError: {WITHHELD}" in text.replace("\\n", "\n")
    assert "_raise_with_a_cause" in text


def test_a_text_line_shows_the_request_id():
    set_request_id("req-text-1")
    try:
        text = TextFormatter().format(_record("case %s assigned", 42))
    finally:
        set_request_id("")

    assert text.endswith("WARNING equinav.test [req-text-1] case 42 assigned")


@pytest.mark.django_db
def test_djangos_not_found_line_has_the_path_without_the_query_string(client, caplog):
    caplog.set_level(logging.INFO)

    client.get("/no/such/page/?q=Zznotfoundname&mrn=NF-MRN-1")

    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Not Found: /no/such/page/"
    assert "Zznotfoundname" not in JsonFormatter().format(record)


@pytest.mark.django_db
def test_djangos_server_error_line_has_the_path_and_no_exception_message(
    client, caplog, manager, monkeypatch
):
    # Given the case list failing with an exception that quotes a patient's name
    from navigator.views import lists

    def fail(*args, **kwargs):
        raise ValueError("patient Zz" + "servererrorname")

    monkeypatch.setattr(lists.case_selectors, "case_list", fail)
    client.force_login(manager)
    client.raise_request_exception = False
    caplog.set_level(logging.INFO)

    # When a manager opens it
    response = client.get(reverse("navigator:case_list") + "?program=SE-MRN-9")

    # Then Django's error line names the path, and its traceback the type only
    assert response.status_code == 500
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == f"Internal Server Error: {reverse('navigator:case_list')}"
    text = JsonFormatter().format(record)
    assert "Zzservererrorname" not in text
    assert "SE-MRN-9" not in text
    assert "builtins.ValueError" in text


REPORT_LOGGING = textwrap.dedent(
    """
    import json, os, django
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    django.setup()
    import logging
    handler = logging.getLogger().handlers[0]
    print(json.dumps({"formatter": type(handler.formatter).__name__}))
    """
)


@pytest.mark.parametrize(
    ("env", "formatter"),
    [
        ({"DEBUG": "1"}, "TextFormatter"),
        ({"DEBUG": "0"}, "JsonFormatter"),
        ({"DEBUG": "1", "EQUINAV_LOG_FORMAT": "json"}, "JsonFormatter"),
        ({"DEBUG": "0", "EQUINAV_LOG_FORMAT": "text"}, "TextFormatter"),
    ],
)
def test_the_format_is_json_in_production_and_text_while_debugging(tmp_path, env, formatter):
    env = {"SECRET_KEY": "log-format-test-key-" + "y" * 30, "ALLOWED_HOSTS": "x.org", **env}

    result = run_with_settings(REPORT_LOGGING, tmp_path, **env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["formatter"] == formatter


def test_an_unknown_format_stops_the_settings_with_a_clear_error(tmp_path):
    result = run_with_settings(REPORT_LOGGING, tmp_path, DEBUG="1", EQUINAV_LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "EQUINAV_LOG_FORMAT is 'xml': use json or text." in result.stderr
