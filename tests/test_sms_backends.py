"""Texts go out through a provider interface; the Twilio-compatible backend is tested
against a real HTTP server on loopback that behaves like the provider."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from outreach.sms import (
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

MESSAGE = SmsMessage(
    to="+16175550123",
    body="Hola Rosa, le recordamos su cita el 3 de diciembre.",
    idempotency_key="5b0c7a1e-0d5e-4a8e-9c61-2f0a1f6c9d11",
    status_callback="https://equinav.example.org/api/sms/status/",
)


class FakeProvider(BaseHTTPRequestHandler):
    """Answers like Twilio's Messages API; `script` says what each request gets."""

    requests: list[dict] = []
    script: list[tuple[int, dict, float]] = []

    def do_POST(self):  # noqa: N802 - the http.server naming
        length = int(self.headers["Content-Length"])
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        type(self).requests.append({"path": self.path, "headers": dict(self.headers), "form": form})
        status, payload, delay = type(self).script.pop(0) if type(self).script else (
            201, {"sid": "SM123", "status": "queued"}, 0.0
        )  # fmt: skip
        time.sleep(delay)
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and hung up

    def log_message(self, *args):
        pass


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


def test_a_refused_number_is_permanent_and_the_error_holds_no_patient_details(provider):
    fake, url = provider
    fake.script = [(400, {"code": 21211, "message": "Invalid 'To' Phone Number"}, 0.0)]

    with pytest.raises(SmsPermanentError) as refused:
        backend(url).send(MESSAGE)

    assert refused.value.code == "21211"
    text = str(refused.value)
    assert "…23" in text
    assert "6175550123" not in text and "Rosa" not in text and "cita" not in text


def test_the_file_backend_writes_each_text_and_reads_them_back(tmp_path):
    files = FileBackend(tmp_path / "sms.jsonl")

    files.send(MESSAGE)
    files.send(MESSAGE)

    sent = files.read_all()
    assert len(sent) == 2
    assert sent[0]["to"] == MESSAGE.to and sent[0]["body"] == MESSAGE.body


def test_the_console_backend_prints_the_text_for_the_developer():
    stream = io.StringIO()

    result = ConsoleBackend(stream=stream).send(MESSAGE)

    assert MESSAGE.body in stream.getvalue()
    assert result.provider_id == f"console-{MESSAGE.idempotency_key}"


def test_the_backend_comes_from_the_setting(settings, tmp_path):
    settings.EQUINAV_SMS_BACKEND = "outreach.sms.FileBackend"
    settings.EQUINAV_SMS_FILE_PATH = str(tmp_path / "out.jsonl")

    assert isinstance(get_sms_backend(), FileBackend)


@pytest.mark.parametrize("path", ["outreach.sms.NoSuchBackend", "nowhere.Backend", "json.dumps"])
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
