"""Patient email goes out through Django's mail to a real SMTP server on loopback: once,
in the patient's language, with nothing clinical in it; a refused address fails at once,
and a server that is down is tried again later."""

from __future__ import annotations

import datetime as dt
import email
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from outreach.messaging.compose import CLINICAL_WORDS
from outreach.messaging.schedule import message_schedule
from outreach.messaging.send import MessageOutcome, message_send
from outreach.messaging.sweep import messages_claim_due
from outreach.models import MessageState, MessageTemplate, PatientMessage
from tests import factories

NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York: not quiet hours

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]

FROM = "EquiNav <equinav@example.org>"
CONTEXT = {
    "first_name": "Rosa", "appointment_date": "3 Dec", "appointment_time": "9:30",
    "site": "Chelsea", "program_phone": "(617) 555-0111", "organization": "EquiNav",
    "navigator_name": "María",
}  # fmt: skip
CLINICAL = re.compile(rf"\b(?:{CLINICAL_WORDS})\b", re.IGNORECASE)


class Mailbox:
    """An SMTP handler that keeps every message it accepts, or refuses every recipient
    with `refuse` (an SMTP reply such as "550 ..."), or the message with `refuse_data`."""

    def __init__(self, refuse: str = "", refuse_data: str = "") -> None:
        self.refuse = refuse
        self.refuse_data = refuse_data
        self.envelopes: list[Envelope] = []
        self.refused: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.refuse:
            self.refused.append(address)
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.refuse_data:
            return self.refuse_data
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(envelope.original_content, policy=default_policy)
            for envelope in self.envelopes
        ]


def body_of(received: EmailMessage) -> str:
    """The text as the patient reads it (SMTP's CRLF line ends and final newline aside)."""
    return received.get_content().replace("\r\n", "\n").rstrip("\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(port: int, mailbox: Mailbox) -> Iterator[Mailbox]:
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, server_hostname="mx.test")
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_port(settings) -> int:
    """A free loopback port that Django's SMTP backend sends to; nothing listens yet."""
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = FROM
    return port


@pytest.fixture
def mailbox(smtp_port) -> Iterator[Mailbox]:
    with smtp_server(smtp_port, Mailbox()) as running:
        yield running


@pytest.fixture
def refusing_mailbox(smtp_port) -> Iterator[Mailbox]:
    refusal = "550 5.1.1 Recipient address rejected: no such mailbox"
    with smtp_server(smtp_port, Mailbox(refuse=refusal)) as running:
        yield running


def due_message(*, kind="appointment_reminder", context=CONTEXT, **patient_kwargs):
    defaults = {"given_name": "Rosa", "preferred_language": "es",
                "time_zone": "America/New_York", "email": "rosa@example.org"}  # fmt: skip
    patient = factories.PatientFactory(**{**defaults, **patient_kwargs})
    message, created = message_schedule(
        patient=patient, kind=kind, channel="email", rule_key=f"{kind}-email",
        subject_key="case:1", due_at=NOW, context=context,
    )  # fmt: skip
    assert created
    return message


def claim_and_send(message: PatientMessage, now: dt.datetime = NOW) -> str:
    assert messages_claim_due(now=now) == [message.pk]
    return message_send(message_id=message.pk, now=now)


def template_text(kind: str, language: str, context=CONTEXT) -> tuple[str, str]:
    template = MessageTemplate.objects.get(kind=kind, language=language, program=None)
    return template.subject.format_map(context), template.body.format_map(context)


def test_it_delivers_a_due_email_reminder_over_smtp_in_the_patients_language(mailbox):
    # Given a Spanish-speaking patient with an appointment reminder due now
    message = due_message(preferred_language="es")
    subject, body = template_text("appointment_reminder", "es")

    # When the sweep claims it and the worker sends it
    outcome = claim_and_send(message)

    # Then the mail server got exactly one message, to the patient, in Spanish
    assert outcome == MessageOutcome.SENT
    (envelope,) = mailbox.envelopes
    assert envelope.rcpt_tos == ["rosa@example.org"]
    assert envelope.mail_from == "equinav@example.org"
    (received,) = mailbox.messages
    assert received["To"] == "rosa@example.org"
    assert received["From"] == FROM
    assert received["Subject"] == subject == "Su cita"
    assert received.get_content_charset() == "utf-8"
    assert body_of(received) == body
    assert body.startswith("Hola Rosa, le escribe EquiNav: le recordamos su cita el 3 Dec")
    # And the row records one successful try
    message.refresh_from_db()
    assert (message.state, message.tries, message.sent_at) == (MessageState.SENT, 1, NOW)
    assert message.last_error == ""


def test_running_the_send_twice_for_one_message_sends_one_email(mailbox):
    # Given a reminder that has been claimed and sent
    message = due_message()
    first = claim_and_send(message)

    # When its task runs again (a duplicate delivery of the task)
    again = message_send(message_id=message.pk, now=NOW)

    # Then the second run skips it and the server holds one email
    assert (first, again) == (MessageOutcome.SENT, MessageOutcome.SKIPPED)
    assert len(mailbox.envelopes) == 1
    message.refresh_from_db()
    assert (message.state, message.tries) == (MessageState.SENT, 1)


def test_a_server_that_refuses_the_address_fails_the_message_at_once(refusing_mailbox):
    # Given a mail server that answers 550 to the patient's address
    message = due_message()

    # When the reminder is sent
    outcome = claim_and_send(message)

    # Then it fails for good on the first try, with the reason, and nothing is delivered
    assert outcome == MessageOutcome.FAILED
    assert refusing_mailbox.refused == ["rosa@example.org"]
    assert refusing_mailbox.envelopes == []
    message.refresh_from_db()
    assert (message.state, message.tries) == (MessageState.FAILED, 1)
    assert message.state_reason == "the mail server refused the address (SMTP 550)"
    assert message.last_error == "the mail server refused the address (SMTP 550)"
    # (the reply's own text, which may repeat the address, is not kept)
    assert message.sent_at is None
    assert messages_claim_due(now=NOW + dt.timedelta(days=1)) == []


def test_a_server_that_is_down_is_tried_again_later_and_then_gets_the_message_once(
    smtp_port, time_machine
):
    # Given nothing listening on the mail port (the connection is refused)
    message = due_message()

    # When the reminder is sent
    outcome = claim_and_send(message)

    # Then the try is counted and a retry is scheduled a minute or so later
    assert outcome == MessageOutcome.RETRY
    message.refresh_from_db()
    assert (message.state, message.tries) == (MessageState.SCHEDULED, 1)
    assert NOW + dt.timedelta(seconds=60) <= message.due_at <= NOW + dt.timedelta(seconds=90)
    assert message.last_error == "the mail server could not be reached (ConnectionRefusedError)"
    assert message.state_reason == "try 1 failed; retrying"
    assert message.claimed_at is None and message.sent_at is None
    assert messages_claim_due(now=NOW) == []  # not due again yet

    # When the server is back up and the retry comes due
    retry_at = message.due_at
    time_machine.move_to(retry_at, tick=False)
    with smtp_server(smtp_port, Mailbox()) as mailbox:
        sent = claim_and_send(message, now=retry_at)
        later = messages_claim_due(now=retry_at + dt.timedelta(hours=1))

    # Then it is delivered once, on the second try, and never claimed again
    assert sent == MessageOutcome.SENT
    assert later == []
    (envelope,) = mailbox.envelopes
    assert envelope.rcpt_tos == ["rosa@example.org"]
    message.refresh_from_db()
    assert (message.state, message.tries, message.sent_at) == (MessageState.SENT, 2, retry_at)


def test_a_patient_without_an_email_address_gets_a_suppressed_row_and_no_email(mailbox):
    # Given a patient with no email address
    message = due_message(email="")

    # When the sweep and a stray task run
    claimed = messages_claim_due(now=NOW)
    outcome = message_send(message_id=message.pk, now=NOW)

    # Then the row says why it was not sent, and the server got nothing
    assert (claimed, outcome) == ([], MessageOutcome.SKIPPED)
    message.refresh_from_db()
    assert message.state == MessageState.SUPPRESSED
    assert message.state_reason == "Not sent by email: no email address."
    assert message.recipient == "" and message.tries == 0
    assert mailbox.envelopes == []


@pytest.mark.parametrize("language", ["en", "es", "pt"])
@pytest.mark.parametrize("kind", ["appointment_reminder", "kit_return", "recall"])
def test_no_result_or_diagnosis_reaches_the_email_only_the_template_text(mailbox, kind, language):
    # Given a context that also carries clinical detail the templates have no place for
    context = {**CONTEXT, "result": "abnormal FIT: positive, polyp on biopsy",
               "diagnosis": "malignant tumour"}  # fmt: skip
    message = due_message(kind=kind, context=context, preferred_language=language)
    subject, body = template_text(kind, language)

    # When the message is sent
    assert claim_and_send(message) == MessageOutcome.SENT

    # Then the email is the template's text and nothing more: no clinical word in it
    (received,) = mailbox.messages
    delivered_body = body_of(received)
    assert (received["Subject"], delivered_body) == (subject, body)
    assert CLINICAL.search(received["Subject"]) is None
    assert CLINICAL.search(delivered_body) is None
    raw = mailbox.envelopes[0].original_content.decode("utf-8", errors="replace")
    assert CLINICAL.search(raw) is None


@pytest.mark.parametrize(
    ("mailbox_kwargs", "outcome", "state", "reason"),
    [
        # Greylisting: "try again later" is not a refusal
        ({"refuse": "451 4.7.1 Greylisted, try again later"}, MessageOutcome.RETRY,
         MessageState.SCHEDULED, "try 1 failed; retrying"),
        # Rejected as spam after the data: final, not worth five tries
        ({"refuse_data": "554 5.7.1 Message rejected"}, MessageOutcome.FAILED,
         MessageState.FAILED, "the mail server refused the message (SMTP 554)"),
        ({"refuse_data": "452 4.3.1 Insufficient system storage"}, MessageOutcome.RETRY,
         MessageState.SCHEDULED, "try 1 failed; retrying"),
    ],
)  # fmt: skip
def test_a_4xx_reply_is_tried_again_and_a_5xx_reply_is_final(
    smtp_port, mailbox_kwargs, outcome, state, reason
):
    message = due_message()

    with smtp_server(smtp_port, Mailbox(**mailbox_kwargs)) as server:
        result = claim_and_send(message)

    assert result == outcome
    message.refresh_from_db()
    assert (message.state, message.state_reason) == (state, reason)
    assert server.envelopes == []


def test_the_email_carries_the_idempotency_key_as_its_message_id(mailbox):
    # A copy sent again after a worker died mid-send is recognisably the same email
    message = due_message()

    claim_and_send(message)

    (received,) = mailbox.messages
    assert received["Message-ID"] == f"<{message.idempotency_key}@equinav>"
