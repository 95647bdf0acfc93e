"""Sending texts through a provider, the way Django sends email through a backend.

`get_sms_backend()` loads `settings.EQUINAV_SMS_BACKEND`:
- `ConsoleBackend` prints each text (development: `make run` shows them);
- `FileBackend` appends each text as a JSON line to a file (tests);
- `TwilioBackend` posts to a Twilio-compatible REST API (production), with
  the message's idempotency key, so a retried request sends once.

Hand-written rather than the twilio package: one POST and one HMAC is all we
use, and a provider-neutral interface keeps other Twilio-compatible gateways
(and a local test server) one setting away.

Errors are split by what the caller should do: `SmsTransientError` (timeouts,
connection failures, HTTP 429 and 5xx: try again later) and `SmsPermanentError`
(the provider refused this message: do not retry). Neither carries the body or
the full number: only the provider's code and the number's last two digits;
the module's log lines likewise.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import http.client
import json
import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    body: str
    idempotency_key: str
    status_callback: str = ""


@dataclass(frozen=True)
class SmsResult:
    provider_id: str
    status: str


def masked(number: str) -> str:
    """A number as logs and errors may show it: its last two digits."""
    return f"…{number[-2:]}" if len(number) >= 2 else "…"


class SmsError(Exception):
    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class SmsTransientError(SmsError):
    """Try again later: the provider or the network failed, not the message."""


class SmsPermanentError(SmsError):
    """The provider refused this message; sending it again would fail again."""


class BaseSmsBackend:
    def send(self, message: SmsMessage) -> SmsResult:
        raise NotImplementedError


class ConsoleBackend(BaseSmsBackend):
    """Prints each text: the developer's stand-in for the patient's phone."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, message: SmsMessage) -> SmsResult:
        provider_id = f"console-{message.idempotency_key}"
        self.stream.write(
            f"--- SMS to {message.to} ({provider_id}) ---\n{message.body}\n{'-' * 40}\n"
        )
        self.stream.flush()
        return SmsResult(provider_id=provider_id, status="sent")


class FileBackend(BaseSmsBackend):
    """Appends each text as one JSON line; `read_all` gives them back (tests).

    It behaves as a provider that honours idempotency keys: a text whose key it has
    already taken is not delivered again (it answers with the first id and notes the
    repeat in `<file>.repeats`), so tests can tell a task that ran twice from a
    patient texted twice. Writers on one machine take turns through a file lock.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path or settings.EQUINAV_SMS_FILE_PATH)

    @property
    def repeats_path(self) -> Path:
        return self.path.with_name(self.path.name + ".repeats")

    def send(self, message: SmsMessage) -> SmsResult:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        provider_id = f"file-{message.idempotency_key}"
        with self.path.open("a+", encoding="utf-8") as out:
            fcntl.flock(out, fcntl.LOCK_EX)
            out.seek(0)
            taken = any(
                json.loads(line).get("idempotency_key") == message.idempotency_key
                for line in out
                if line.strip()
            )
            if taken and message.idempotency_key:
                with self.repeats_path.open("a", encoding="utf-8") as repeats:
                    repeats.write(message.idempotency_key + "\n")
                return SmsResult(provider_id=provider_id, status="sent")
            record = {**asdict(message), "at": timezone.now().isoformat()}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
        return SmsResult(provider_id=provider_id, status="sent")

    def read_all(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line]

    def repeats(self) -> list[str]:
        """The idempotency keys sent again after they were delivered (not delivered twice)."""
        if not self.repeats_path.exists():
            return []
        return self.repeats_path.read_text(encoding="utf-8").split()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as an error: following it would carry the
    credentials to another address and resend a POST as a GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


class TwilioBackend(BaseSmsBackend):
    """Twilio's Messages API, or any provider that speaks it."""

    def __init__(
        self,
        *,
        api_url: str | None = None,
        account_sid: str | None = None,
        auth_token: str | None = None,
        from_number: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.api_url = (api_url or settings.EQUINAV_SMS_API_URL).rstrip("/")
        self.account_sid = account_sid or settings.TWILIO_ACCOUNT_SID
        self.auth_token = auth_token or settings.TWILIO_AUTH_TOKEN
        self.from_number = from_number or settings.EQUINAV_SMS_FROM
        self.timeout = timeout if timeout is not None else settings.EQUINAV_SMS_TIMEOUT
        if not (self.account_sid and self.auth_token and self.from_number):
            raise ImproperlyConfigured(
                "TwilioBackend needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and EQUINAV_SMS_FROM."
            )

    def send(self, message: SmsMessage) -> SmsResult:
        fields = {"To": message.to, "From": self.from_number, "Body": message.body}
        if message.status_callback:
            fields["StatusCallback"] = message.status_callback
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - the URL is our own setting
            f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json",
            data=urllib.parse.urlencode(fields).encode(),
            method="POST",
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                # The same key on every try of one message, under both names providers
                # use: the IETF draft's Idempotency-Key (Telnyx and others dedupe on it)
                # and the I-Twilio-Idempotency-Token of Twilio-compatible gateways.
                # Twilio's own Messages API documents no such key: behind it, a try that
                # timed out after Twilio took the text can reach the patient twice.
                "Idempotency-Key": message.idempotency_key,
                "I-Twilio-Idempotency-Token": message.idempotency_key,
            },
        )
        to = masked(message.to)
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                payload = _json(response.read())
        except urllib.error.HTTPError as error:
            # The provider's own "message" is left out: it may echo the number.
            payload = _json(_read_quietly(error))
            code = str(payload.get("code") or payload.get("error_code") or error.code)
            text = f"SMS to {to} refused by the provider: HTTP {error.code}, code {code}"
            if error.code == 429 or error.code >= 500:
                logger.warning("SMS to %s: provider busy or failing (HTTP %s)", to, error.code)
                raise SmsTransientError(text, code=code) from None
            logger.warning("SMS to %s refused: HTTP %s, code %s", to, error.code, code)
            raise SmsPermanentError(text, code=code) from None
        except TimeoutError:
            logger.warning("SMS to %s: the provider did not answer in time", to)
            raise SmsTransientError(f"SMS to {to}: the provider did not answer in time") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                text = f"SMS to {to}: the provider did not answer in time"
            else:
                text = f"SMS to {to}: could not reach the provider ({error.reason})"
            logger.warning("%s", text)
            raise SmsTransientError(text) from None
        except (http.client.HTTPException, OSError) as error:
            # The connection dropped mid-answer: the provider may or may not have
            # the message; the same idempotency token makes the retry safe.
            text = f"SMS to {to}: the connection failed ({type(error).__name__})"
            logger.warning("%s", text)
            raise SmsTransientError(text) from None
        if payload.get("error_code"):
            code = str(payload["error_code"])
            logger.warning("SMS to %s refused: code %s", to, code)
            raise SmsPermanentError(f"SMS to {to} refused by the provider: code {code}", code=code)
        result = SmsResult(
            provider_id=str(payload.get("sid") or ""), status=str(payload.get("status") or "")
        )
        logger.info("SMS to %s accepted: %s %s", to, result.provider_id, result.status)
        return result


def _read_quietly(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read()
    except (http.client.HTTPException, OSError):
        return b""


def _json(raw: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def get_sms_backend(path: str | None = None, **kwargs: Any) -> BaseSmsBackend:
    dotted = path or settings.EQUINAV_SMS_BACKEND
    try:
        backend_class = import_string(dotted)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"EQUINAV_SMS_BACKEND “{dotted}” cannot be imported: {error}"
        ) from None
    if not (isinstance(backend_class, type) and issubclass(backend_class, BaseSmsBackend)):
        raise ImproperlyConfigured(f"EQUINAV_SMS_BACKEND “{dotted}” is not an SMS backend.")
    return backend_class(**kwargs)


# --- Webhook signatures ------------------------------------------------------------------------


def _values(params: Mapping[str, str], name: str) -> Iterable[str]:
    """Every value of a parameter: a Django QueryDict repeats names (`getlist`),
    where indexing would give the last value only."""
    if hasattr(params, "getlist"):
        return sorted(params.getlist(name))
    return [params[name]]


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1, keyed by the auth token, over the full
    request URL followed by every POST parameter's name and value, sorted by name
    (a repeated name once per value, values sorted). `params` may be a QueryDict."""
    signed = url + "".join(
        name + value for name in sorted(set(params)) for value in _values(params, name)
    )
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _with_and_without_port(url: str) -> list[str]:
    """Twilio signs some requests with the default port in the URL and some
    without (its libraries check both): the URL as given, plus the other form."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    try:
        port = parts.port
    except ValueError:
        return [url]
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if port is None and default:
        other = parts._replace(netloc=f"{prefix}{host}:{default}")
    elif port is not None and port == default:
        other = parts._replace(netloc=f"{prefix}{host}")
    else:
        return [url]
    return [url, urllib.parse.urlunsplit(other)]


def verify_twilio_signature(
    url: str, params: Mapping[str, str], signature: str | None, auth_token: str
) -> bool:
    """Whether `signature` (the X-Twilio-Signature header) signs this request;
    constant-time. `url` is the full URL Twilio called, query string included."""
    if not signature or not auth_token:
        return False
    matched = False
    for candidate in _with_and_without_port(url):
        expected = twilio_signature(candidate, params, auth_token)
        matched |= hmac.compare_digest(expected.encode(), signature.encode())
    return matched
