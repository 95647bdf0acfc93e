"""Texts go out through a provider interface; the Twilio-compatible backend is tested
against a real HTTP server on loopback that behaves like the provider."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import io
import logging
import threading
import uuid
from http.server import ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import QueryDict

from outreach.messaging.sms_backends import (
    ConsoleBackend,
    FileBackend,
    SmsMessage,
    SmsPermanentError,
    SmsTransientError,
    TwilioBackend,
    get_sms_backend,
    twilio_signature,
    verify_twilio_signature,
)
from tests.support.sms_provider import FakeProvider

MESSAGE = SmsMessage(
    to="+16175550123",
    body="Hola Rosa, le recordamos su cita el 3 de diciembre.",
    idempotency_key="5b0c7a1e-0d5e-4a8e-9c61-2f0a1f6c9d11",
    status_callback="https://equinav.example.org/api/sms/status/",
)


@pytest.fixture
def provider():
    FakeProvider.requests = []
    FakeProvider.script = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield FakeProvider, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def backend(url: str, timeout: float = 2.0) -> TwilioBackend:
    return TwilioBackend(
        api_url=url,
        account_sid="AC0000",
        auth_token="secret-token",
        from_number="+16175550100",
        timeout=timeout,
    )


def test_it_posts_the_message_to_the_provider_with_auth_and_the_idempotency_key(provider):
    fake, url = provider

    result = backend(url).send(MESSAGE)

    assert (result.provider_id, result.status) == ("SM123", "queued")
    (request,) = fake.requests
    assert request["path"] == "/2010-04-01/Accounts/AC0000/Messages.json"
    assert request["form"] == {
        "To": "+16175550123",
        "From": "+16175550100",
        "Body": MESSAGE.body,
        "StatusCallback": MESSAGE.status_callback,
    }
    assert request["headers"]["Authorization"] == (
        "Basic " + base64.b64encode(b"AC0000:secret-token").decode()
    )
    assert request["headers"]["I-Twilio-Idempotency-Token"] == MESSAGE.idempotency_key
    assert request["headers"]["Idempotency-Key"] == MESSAGE.idempotency_key


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_provider_failure_is_transient(provider, status):
    fake, url = provider
    fake.script = [(status, {"code": 20500, "message": "Internal"}, 0.0)]

    with pytest.raises(SmsTransientError) as failed:
        backend(url).send(MESSAGE)

    assert failed.value.code == "20500"


def test_a_provider_that_does_not_answer_in_time_is_transient(provider):
    fake, url = provider
    fake.script = [(201, {"sid": "SMlate"}, 1.5)]

    with pytest.raises(SmsTransientError, match="did not answer in time"):
        backend(url, timeout=0.3).send(MESSAGE)


def test_an_unreachable_provider_is_transient():
    with pytest.raises(SmsTransientError, match="could not reach the provider"):
        backend("http://127.0.0.1:9", timeout=1).send(MESSAGE)


def test_a_connection_dropped_before_the_answer_is_transient(provider):
    # Given a provider that hangs up after reading the request
    fake, url = provider
    fake.script = [(0, {}, 0.0)]

    # When a text is sent, then the caller is told to try again (the same
    # idempotency token makes that safe even if the provider took the text)
    with pytest.raises(SmsTransientError, match="connection failed"):
        backend(url).send(MESSAGE)


@pytest.mark.parametrize(
    ("code", "reason"),
    [(21211, "Invalid 'To' Phone Number"), (21610, "Attempt to send to unsubscribed recipient")],
)
def test_a_refused_number_is_permanent_and_the_error_holds_no_patient_details(
    provider, code, reason
):
    # Given a provider that refuses the number, echoing it and the text back
    fake, url = provider
    echo = f"{reason}: +16175550123 ({MESSAGE.body})"
    fake.script = [(400, {"code": code, "message": echo, "status": 400}, 0.0)]

    # When a text is sent
    with pytest.raises(SmsPermanentError) as refused:
        backend(url).send(MESSAGE)

    # Then the error names the provider's code and the number's last two digits only
    assert refused.value.code == str(code)
    text = str(refused.value)
    assert "…23" in text
    assert "6175550123" not in text and "Rosa" not in text and "cita" not in text


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_not_followed_with_the_credentials(provider, status):
    # Given a provider address that redirects elsewhere
    fake, url = provider
    fake.script = [(status, {}, 0.0, {"Location": f"{url}/elsewhere"})]

    # When a text is sent, then it is refused here and nothing follows the redirect
    with pytest.raises(SmsPermanentError, match=f"HTTP {status}"):
        backend(url).send(MESSAGE)
    assert [request["path"] for request in fake.requests] == [
        "/2010-04-01/Accounts/AC0000/Messages.json"
    ]


def test_the_backend_logs_no_number_or_text(provider, caplog):
    # Given a provider that accepts one text, fails one and refuses one
    fake, url = provider
    fake.script = [
        (201, {"sid": "SM1", "status": "queued"}, 0.0),
        (503, {"code": 20503}, 0.0),
        (400, {"code": 21211, "message": "+16175550123 is not valid"}, 0.0),
    ]
    caplog.set_level(logging.DEBUG, logger="outreach.messaging.sms_backends")
    sms = backend(url)

    # When all three are sent
    sms.send(MESSAGE)
    with pytest.raises(SmsTransientError):
        sms.send(MESSAGE)
    with pytest.raises(SmsPermanentError):
        sms.send(MESSAGE)

    # Then each is logged, with the masked number and the provider's id or code only
    assert len(caplog.records) == 3
    assert "SM1" in caplog.text and "21211" in caplog.text and "…23" in caplog.text
    assert "6175550123" not in caplog.text and "Rosa" not in caplog.text


def test_the_file_backend_writes_each_text_and_reads_them_back(tmp_path):
    files = FileBackend(tmp_path / "sms.jsonl")
    other = dataclasses.replace(MESSAGE, idempotency_key=str(uuid.uuid4()), body="Otro")

    files.send(MESSAGE)
    files.send(other)

    sent = files.read_all()
    assert [text["body"] for text in sent] == [MESSAGE.body, "Otro"]
    assert sent[0]["to"] == MESSAGE.to


def test_the_file_backend_delivers_a_key_once_as_an_idempotent_provider_does(tmp_path):
    # Given a text already taken
    files = FileBackend(tmp_path / "sms.jsonl")
    first = files.send(MESSAGE)

    # When a task that ran again sends it with the same key
    again = files.send(MESSAGE)

    # Then the patient gets it once, the repeat is noted, and the ids agree
    assert len(files.read_all()) == 1
    assert files.repeats() == [MESSAGE.idempotency_key]
    assert again.provider_id == first.provider_id


def test_the_console_backend_prints_the_text_for_the_developer():
    stream = io.StringIO()

    result = ConsoleBackend(stream=stream).send(MESSAGE)

    assert MESSAGE.body in stream.getvalue()
    assert result.provider_id == f"console-{MESSAGE.idempotency_key}"


def test_the_backend_comes_from_the_setting(settings, tmp_path):
    settings.EQUINAV_SMS_BACKEND = "outreach.messaging.sms_backends.FileBackend"
    settings.EQUINAV_SMS_FILE_PATH = str(tmp_path / "out.jsonl")

    assert isinstance(get_sms_backend(), FileBackend)


@pytest.mark.parametrize(
    "path", ["outreach.messaging.sms_backends.NoSuchBackend", "nowhere.Backend", "json.dumps"]
)
def test_a_bad_backend_setting_is_a_clear_configuration_error(settings, path):
    settings.EQUINAV_SMS_BACKEND = path

    with pytest.raises(ImproperlyConfigured, match=path):
        get_sms_backend()


def test_the_twilio_backend_refuses_to_start_without_credentials(settings):
    settings.TWILIO_ACCOUNT_SID = ""

    with pytest.raises(ImproperlyConfigured, match="TWILIO_ACCOUNT_SID"):
        TwilioBackend(auth_token="x", from_number="+16175550100")


# --- Webhook signatures (Twilio's documented example) ------------------------------------------

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_the_signature_matches_twilios_documented_example():
    assert twilio_signature(URL, PARAMS, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert verify_twilio_signature(URL, PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345")


@pytest.mark.parametrize(
    ("url", "params", "signature", "token"),
    [
        (URL, {**PARAMS, "Digits": "9"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345"),
        (URL + "&x=1", PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345"),
        (URL, PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ", "12345"),
        (URL, PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "54321"),
        (URL, PARAMS, None, "12345"),
        (URL, PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", ""),
    ],
)
def test_a_tampered_request_or_missing_signature_fails_verification(url, params, signature, token):
    assert not verify_twilio_signature(url, params, signature, token)


def test_repeated_parameters_are_signed_once_per_value_in_order():
    # Given a webhook body with a repeated name, as Django parses it
    params = QueryDict("b=3&a=2&a=1")
    signed = "https://equinav.example.org/sms/in/a1a2b3"
    expected = base64.b64encode(hmac.new(b"tok", signed.encode(), hashlib.sha1).digest()).decode()

    # Then every value is signed, and the signature verifies
    assert twilio_signature("https://equinav.example.org/sms/in/", params, "tok") == expected
    assert verify_twilio_signature("https://equinav.example.org/sms/in/", params, expected, "tok")


@pytest.mark.parametrize(
    ("signed_url", "received_url", "valid"),
    [
        ("https://equinav.example.org/sms/in/", "https://equinav.example.org:443/sms/in/", True),
        ("https://equinav.example.org:443/sms/in/", "https://equinav.example.org/sms/in/", True),
        (
            "http://equinav.example.org/sms/in/?x=1",
            "http://equinav.example.org:80/sms/in/?x=1",
            True,
        ),
        ("https://equinav.example.org/sms/in/", "https://equinav.example.org:8443/sms/in/", False),
        ("https://equinav.example.org/sms/in/", "https://other.example.org/sms/in/", False),
    ],
)
def test_the_default_port_may_or_may_not_be_in_the_signed_url(signed_url, received_url, valid):
    # Given a request Twilio signed with or without the default port
    signature = twilio_signature(signed_url, PARAMS, "12345")

    # Then it verifies whichever form the server sees, but no other address does
    assert verify_twilio_signature(received_url, PARAMS, signature, "12345") is valid
