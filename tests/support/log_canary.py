"""No PHI in any log line of the whole suite (issue 14, item 5): a pytest plugin,
registered by tests/conftest.py.

Every log record of every test (any logger: the root's handler, and any logger that
does not pass its records up, such as Celery's), formatted as production writes it
(config.log_format.JsonFormatter), and every warning, is searched for

- the canary patients' details (`CANARIES`, seeded by tests/project/test_log_canaries.py
  through the app's main flows) in every common spelling: names in any case, the MRN
  with or without its dashes, the phone number however written (its ten digits are
  looked for among the line's digits), the birth date as ISO, US and compact dates;
- the details of every patient a test created, by any path (a factory, the API, a CSV,
  a FHIR bundle): the MRN, the full name, the phone's ten digits.

The access line gunicorn would write for each request a test makes (its format from
config/gunicorn_conf.py: the path, never the query string) is searched too.

A line with any of them fails the test that logged it (an error at its teardown), naming
the logger, the level, which detail it was and where in the line: never the detail.
Lines logged outside a test fail the session at its end.

Under pytest-xdist (`make test` runs `-n 2`) each worker searches its own lines; a test's
leak fails that test as above, and each worker hands its count of lines and its leaks
outside tests to the controller (`workeroutput`), whose summary and exit status add
them up: a worker's own exit status is not what the run's is.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.config
import re
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import pytest

# Test tooling that logs what it builds (factory_boy logs each factory's arguments).
EXEMPT_LOGGERS = ("factory", "faker")


@dataclass(frozen=True)
class CanaryPatient:
    given_name: str
    family_name: str
    mrn: str
    phone: str  # E.164
    birth_date: dt.date

    @property
    def national_phone(self) -> str:
        return self.phone.removeprefix("+1")

    @property
    def phone_national_format(self) -> str:
        digits = self.national_phone
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


# Birth dates that keep the canaries in every screening program's ages (45 to 75).
_YEAR = dt.date.today().year  # noqa: DTZ011 - a year is all that is needed
CANARIES = (
    CanaryPatient("Zzcanaryname", "Qqcanarysurname", "CANARY-MRN-7731", "+16175550163",
                  dt.date(_YEAR - 58, 7, 19)),
    CanaryPatient("Yycanarygiven", "Xxcanaryfamily", "CANARY-MRN-8842", "+16175550164",
                  dt.date(_YEAR - 62, 11, 3)),
    CanaryPatient("Wwcanaryfirst", "Vvcanarylast", "CANARY-MRN-9953", "+16175550168",
                  dt.date(_YEAR - 66, 2, 27)),
)  # fmt: skip


@dataclass(frozen=True)
class Needle:
    """A detail to look for: `text` (lower case) in the lower-cased line, or, for a
    phone number, `digits` among the line's digits."""

    kind: str
    text: str = ""
    digits: str = ""
    word: bool = False

    def find(self, lowered: str, digits: str) -> int:
        if self.digits:
            return digits.find(self.digits)
        position = lowered.find(self.text)
        if position < 0 or not self.word:
            return position
        # (only where the text occurs at all: thousands of patients, few lines each)
        match = re.search(rf"(?<![0-9a-z]){re.escape(self.text)}(?![0-9a-z])", lowered)
        return match.start() if match else -1


def canary_needles(canary: CanaryPatient) -> list[Needle]:
    date = canary.birth_date
    mrn = canary.mrn.lower()
    texts = [
        ("canary given name", canary.given_name),
        ("canary family name", canary.family_name),
        ("canary MRN", mrn),
        ("canary MRN without dashes", mrn.replace("-", "")),
        ("canary MRN with spaces", mrn.replace("-", " ")),
        ("canary birth date (ISO)", date.isoformat()),
        ("canary birth date (US)", f"{date:%m/%d/%Y}"),
        ("canary birth date (US, short)", f"{date.month}/{date.day}/{date.year}"),
        ("canary birth date (compact)", f"{date:%Y%m%d}"),
    ]
    return [Needle(kind, text=text.lower()) for kind, text in texts] + [
        Needle("canary phone number (any format)", digits=canary.national_phone),
    ]


CANARY_NEEDLES = [needle for canary in CANARIES for needle in canary_needles(canary)]


@dataclass
class Leak:
    where: str
    logger: str
    level: str
    kind: str
    position: int

    def describe(self) -> str:
        return (
            f"{self.where}: logger {self.logger!r} at {self.level} logged a {self.kind} "
            f"(at character {self.position} of the formatted line)"
        )


@dataclass
class Watch:
    """What the current test created, and what leaked so far."""

    test: str = "(outside any test)"
    needles: list[Needle] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    outside: list[Leak] = field(default_factory=list)
    lines: int = 0

    def check(self, text: str, *, logger: str, level: str) -> None:
        self.lines += 1
        lowered = text.lower()
        digits = re.sub(r"\D", "", text)
        for needle in (*CANARY_NEEDLES, *self.needles):
            position = needle.find(lowered, digits)
            if position >= 0:
                leak = Leak(self.test, logger, level, needle.kind, position)
                (self.leaks if self.test != Watch.test else self.outside).append(leak)

    def patient_created(self, patient) -> None:
        given, family = (patient.given_name or "").lower(), (patient.family_name or "").lower()
        if len(patient.mrn or "") >= 5:
            self.needles.append(Needle("patient's MRN", text=patient.mrn.lower(), word=True))
        if len(given) >= 2 and len(family) >= 2:
            for text in (f"{given} {family}", f"{family}, {given}", f"{family} {given}"):
                self.needles.append(Needle("patient's full name", text=text, word=True))

    def phone_created(self, number: str) -> None:
        digits = re.sub(r"\D", "", str(number))
        if len(digits) >= 10:
            self.needles.append(Needle("patient's phone number", digits=digits[-10:]))


class CanaryHandler(logging.Handler):
    def __init__(self, watch: Watch) -> None:
        super().__init__(level=logging.NOTSET)
        self.watch = watch
        from config.log_format import JsonFormatter, RequestIdFilter

        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(EXEMPT_LOGGERS):
            return
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted: look at its parts
            text = f"{record.msg!s} {record.args!r}"
        self.watch.check(text, logger=record.name, level=record.levelname)


WORKER_OUTPUT_KEY = "equinav_log_canary"


class LogCanaryPlugin:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.watch = Watch()
        self.handler = CanaryHandler(self.watch)
        # Under xdist, the workers that reported (the controller's summary says how many).
        self.workers_reported = 0

    def attach(self) -> None:
        """On the root logger, and on each logger that keeps its records to itself."""
        root = logging.getLogger()
        if self.handler not in root.handlers:
            root.addHandler(self.handler)
        for logger in list(logging.Logger.manager.loggerDict.values()):
            if (
                isinstance(logger, logging.Logger)
                and not logger.propagate
                and self.handler not in logger.handlers
            ):
                logger.addHandler(self.handler)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from django.core.signals import request_started
        from django.db.models.signals import post_save

        from patients.models import Patient, PatientPhone

        post_save.connect(self._patient_saved, sender=Patient, weak=False)
        post_save.connect(self._phone_saved, sender=PatientPhone, weak=False)
        request_started.connect(self._request_started, weak=False)
        self._watch_reconfiguration()
        self.attach()

    def _watch_reconfiguration(self) -> None:
        """Logging configured again (django.setup(), as get_wsgi_application() calls it,
        replaces the root's handlers) keeps the canary's handler."""
        original = logging.config.dictConfig
        if getattr(original, "keeps_canary", False):
            return

        def dict_config(config: dict) -> None:
            original(config)
            self.attach()

        dict_config.keeps_canary = True  # type: ignore[attr-defined]
        logging.config.dictConfig = dict_config

    def _request_started(self, environ=None, **kwargs) -> None:
        """The access line gunicorn would write for this request (config/gunicorn_conf.py),
        from the test client's and the live server's requests alike."""
        from config.gunicorn_conf import access_log_format

        environ = environ or {}
        atoms = {
            "h": environ.get("REMOTE_ADDR", "-"),
            "m": environ.get("REQUEST_METHOD", "-"),
            "U": environ.get("PATH_INFO", "-"),
            "s": "200",
            "B": "0",
            "M": "0",
            "{x-request-id}o": "-",
        }
        self.watch.check(access_log_format % atoms, logger="gunicorn.access", level="INFO")

    def _patient_saved(self, instance, **kwargs) -> None:
        self.watch.patient_created(instance)

    def _phone_saved(self, instance, **kwargs) -> None:
        self.watch.phone_created(instance.number)

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem) -> Iterator[None]:
        self.watch.test = item.nodeid
        self.watch.needles = []
        self.watch.leaks = []
        self.attach()
        yield
        self.watch.test = Watch.test
        self.watch.needles = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        if call.when == "teardown" and self.watch.leaks and report.passed:
            leaks = "\n".join(leak.describe() for leak in self.watch.leaks)
            report.outcome = "failed"
            report.longrepr = (
                f"Patient details reached {len(self.watch.leaks)} log line(s) "
                f"(tests/support/log_canary.py; the details themselves are not repeated):\n"
                f"{leaks}"
            )

    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage, when, nodeid):
        self.watch.check(
            str(warning_message.message), logger="warnings", level=warning_message.category.__name__
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        """(xdist controller) A worker finished: add its lines and its leaks outside tests."""
        output = getattr(node, "workeroutput", None) or {}
        report = output.get(WORKER_OUTPUT_KEY)
        if report is None:
            # A worker that crashed before its end: the crash fails the run already.
            return
        self.workers_reported += 1
        self.watch.lines += report["lines"]
        self.watch.outside.extend(Leak(**leak) for leak in report["outside"])

    def pytest_terminal_summary(self, terminalreporter) -> None:
        workers = f" by {self.workers_reported} workers" if self.workers_reported else ""
        terminalreporter.write_line(
            f"log canary: {self.watch.lines} log line(s) searched for patient details{workers}"
        )
        if self.watch.outside:
            terminalreporter.write_sep("=", "patient details in log lines outside tests", red=True)
            for leak in self.watch.outside:
                terminalreporter.write_line(leak.describe(), red=True)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        worker_output = getattr(self.config, "workeroutput", None)
        if worker_output is not None:
            # (xdist worker) Sent to the controller after this hook (pytest_testnodedown).
            worker_output[WORKER_OUTPUT_KEY] = {
                "lines": self.watch.lines,
                "outside": [asdict(leak) for leak in self.watch.outside],
            }
        if self.watch.outside and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(LogCanaryPlugin(config), "equinav-log-canary")


@pytest.fixture(scope="session")
def canaries() -> tuple[CanaryPatient, ...]:
    """The canary patients' details: no factory or fixture makes these up by chance."""
    return CANARIES


@pytest.fixture
def canary_patient(db, canaries):
    """Make canary patient `index` (a Patient row with its phone) in `clinic`."""
    from tests import factories

    def make(index: int = 0, **overrides):
        canary = canaries[index]
        fields = {
            "given_name": canary.given_name,
            "family_name": canary.family_name,
            "mrn": canary.mrn,
            "birth_date": canary.birth_date,
            "phone": canary.phone,
            "sms_consent": True,
            **overrides,
        }
        return factories.PatientFactory(**fields)

    return make
