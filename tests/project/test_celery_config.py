"""The Celery app's reliability settings, pinned: a change to any of them is deliberate.

Tasks are acknowledged late and redelivered if a worker dies, so every task must be
safe to run twice; the broker must not hand a still-running (or still-waiting) task to
a second worker; nothing waits in the broker for longer than CELERY_MAX_COUNTDOWN_SECONDS.
"""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

from celery.schedules import crontab
from django.conf import settings

from config.celery import app
from tests.support.settings_process import run_with_settings

BASE_DIR = Path(settings.BASE_DIR)
PROJECT_PACKAGES = ("patients", "navigator", "outreach", "config")
# Arguments that make the broker (or a worker holding an unacked message) wait.
DELAY_ARGUMENTS = ("countdown", "eta", "default_retry_delay")
# Beyond this a task retrying "for ever" is a bug, not resilience; the sweep exists for that.
MOST_RETRIES = 10


def project_tasks() -> dict:
    app.loader.import_default_modules()
    return {
        name: task for name, task in app.tasks.items() if name.split(".", 1)[0] in PROJECT_PACKAGES
    }


def celery_config_in_subprocess(tmp_path: Path, **env: str) -> dict:
    """The production settings' Celery configuration, as a fresh interpreter loads it."""
    script = textwrap.dedent(
        """
        import json
        import django
        django.setup()
        from config.celery import app
        print(json.dumps({
            "broker_url": app.conf.broker_url,
            "broker_transport_options": app.conf.broker_transport_options,
            "task_time_limit": app.conf.task_time_limit,
            "task_soft_time_limit": app.conf.task_soft_time_limit,
            "task_always_eager": app.conf.task_always_eager,
            "task_acks_late": app.conf.task_acks_late,
        }, default=repr))
        """
    )
    result = run_with_settings(
        script,
        tmp_path,
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="a-production-like-key-for-a-settings-test",
        DEBUG="0",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Serialisation, time, acknowledgement ---------------------------------------------------


def test_it_keeps_time_in_utc():
    assert app.conf.timezone == "UTC"
    assert app.conf.enable_utc is True


def test_it_accepts_and_writes_only_json():
    # Pickle would let anyone who can write to the broker run code in the worker.
    assert list(app.conf.accept_content) == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"


def test_it_acknowledges_a_task_only_after_it_ran_and_redelivers_a_lost_one():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    # A worker reserves one message at a time: none waits behind a long task.
    assert app.conf.worker_prefetch_multiplier == 1


def test_it_limits_how_long_a_task_may_run_with_a_soft_limit_first():
    hard = app.conf.task_time_limit
    soft = app.conf.task_soft_time_limit

    assert hard and soft
    assert 0 < soft < hard


def test_it_does_not_run_tasks_inline_in_production(tmp_path):
    # Given the production settings (the test settings force eager tasks)
    config = celery_config_in_subprocess(tmp_path)

    # Then tasks go through the broker and are acknowledged late there too
    assert config["task_always_eager"] is False
    assert config["task_acks_late"] is True


# --- The broker's visibility timeout --------------------------------------------------------


def test_redis_never_hands_a_running_or_waiting_task_to_a_second_worker(tmp_path):
    # Given the settings with Redis as the broker
    url = "redis://127.0.0.1:6379/0"
    config = celery_config_in_subprocess(tmp_path, REDIS_URL=url)
    assert config["broker_url"] == url

    # Then the broker waits for more than twice the longest run before redelivering
    visibility_timeout = config["broker_transport_options"]["visibility_timeout"]
    time_limit = config["task_time_limit"]
    assert time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert visibility_timeout > 2 * time_limit
    # And a task scheduled as far ahead as allowed still runs before it is redelivered
    assert visibility_timeout > settings.CELERY_MAX_COUNTDOWN_SECONDS + time_limit


def test_the_embedded_broker_never_hands_a_delivered_task_to_a_second_worker(tmp_path):
    # Given the settings with no REDIS_URL: kombu's SQLAlchemy transport on a SQLite file
    config = celery_config_in_subprocess(tmp_path)
    assert config["broker_url"] == f"sqla+sqlite:///{tmp_path / 'run' / 'celery-broker.sqlite3'}"

    # Then nothing in its options asks for redelivery: the transport marks a delivered
    # message's row invisible and has no visibility timeout (config/settings.py), and
    # every option goes to SQLAlchemy's create_engine, which refuses any it does not know
    assert set(config["broker_transport_options"]) == {"creator"}


def test_the_loaded_app_has_the_same_visibility_guarantee():
    options = app.conf.broker_transport_options
    if not app.conf.broker_url.startswith("redis"):
        assert "visibility_timeout" not in options
        return

    assert options["visibility_timeout"] > 2 * app.conf.task_time_limit


# --- The beat schedule ----------------------------------------------------------------------


def entries_for(task_name: str) -> list[dict]:
    return [entry for entry in app.conf.beat_schedule.values() if entry["task"] == task_name]


def test_the_follow_up_reminders_run_once_a_day():
    entries = entries_for("outreach.tasks.create_follow_up_reminders")

    assert len(entries) == 1
    schedule = entries[0]["schedule"]
    assert isinstance(schedule, crontab)
    # One minute of one hour, every day of every month
    assert len(schedule.minute) == 1
    assert len(schedule.hour) == 1
    assert schedule.day_of_week == set(range(7))
    assert schedule.day_of_month == set(range(1, 32))
    assert schedule.month_of_year == set(range(1, 13))


def test_the_sweep_for_lost_reminder_emails_runs_at_least_hourly():
    entries = entries_for("outreach.tasks.sweep_unsent_reminder_emails")

    assert len(entries) == 1
    schedule = entries[0]["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule.hour == set(range(24))
    assert len(schedule.minute) >= 1


def test_every_scheduled_task_is_registered_with_the_app():
    # Given every task module the app discovers
    registered = set(project_tasks())

    # Then beat sends nothing a worker would reject as unregistered
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled
    assert scheduled <= registered, scheduled - registered


def enqueued_task_names() -> dict[str, str]:
    """Each task name a service hands to `enqueue_on_commit` → where, read from the source."""
    found = {}
    for package in PROJECT_PACKAGES:
        for path in sorted((BASE_DIR / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", getattr(node.func, "attr", ""))
                    == "enqueue_on_commit"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    found[node.args[0].value] = f"{path.relative_to(BASE_DIR)}:{node.lineno}"
    return found


def test_every_task_a_service_names_is_registered_with_the_app():
    # Given the tasks services send by name once their transaction commits
    enqueued = enqueued_task_names()
    assert len(enqueued) >= 3  # the source was read: reminders, messages, care gaps

    # Then each names a task a worker knows (a typo would fail only after a commit)
    registered = set(project_tasks())
    unknown = {name: where for name, where in enqueued.items() if name not in registered}
    assert unknown == {}


# --- Nothing waits longer than CELERY_MAX_COUNTDOWN_SECONDS ---------------------------------


TIMEDELTA_UNITS = {
    "weeks": 7 * 24 * 3600,
    "days": 24 * 3600,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
    "milliseconds": 0.001,
    "microseconds": 0.000001,
}
TIMEDELTA_POSITIONAL = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours")


def mentions_the_maximum(node: ast.AST) -> bool:
    return any(
        (isinstance(n, ast.Name) and n.id == "CELERY_MAX_COUNTDOWN_SECONDS")
        or (isinstance(n, ast.Attribute) and n.attr == "CELERY_MAX_COUNTDOWN_SECONDS")
        for n in ast.walk(node)
    )


ARITHMETIC = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def literal_seconds(node: ast.AST) -> float | None:
    """The value of a number written literally (arithmetic allowed: `5 * 60`), else None."""
    if isinstance(node, ast.Constant):
        is_number = isinstance(node.value, int | float) and not isinstance(node.value, bool)
        return node.value if is_number else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = literal_seconds(node.operand)
        return None if operand is None else -operand
    if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
        left, right = literal_seconds(node.left), literal_seconds(node.right)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        return ARITHMETIC[type(node.op)](left, right)
    return None


def timedelta_seconds(call: ast.Call) -> float | None:
    """The length of a `timedelta(...)` written with literal numbers, else None."""
    arguments = list(zip(TIMEDELTA_POSITIONAL, call.args, strict=False))
    arguments += [(kw.arg, kw.value) for kw in call.keywords]
    total = 0.0
    for unit, value in arguments:
        seconds = literal_seconds(value)
        if unit not in TIMEDELTA_UNITS or seconds is None:
            return None
        total += seconds * TIMEDELTA_UNITS[unit]
    return total


def delay_seconds(argument: str, value: ast.AST) -> float | None:
    """How far ahead a countdown/eta schedules, when the source says so literally."""
    if argument != "eta":
        return literal_seconds(value)
    lengths = [
        timedelta_seconds(node)
        for node in ast.walk(value)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "timedelta"
    ]
    if not lengths or None in lengths:
        return None
    return sum(lengths)


def delay_violations(source: str, filename: str, maximum: float) -> list[str]:
    """Every countdown/eta that is longer than `maximum`, or cannot be shown not to be.

    A delay is acceptable if it is a literal within the maximum, or if its expression
    clamps with CELERY_MAX_COUNTDOWN_SECONDS (e.g. `min(delay, settings.CELERY_MAX_...)`).
    """
    violations = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg not in DELAY_ARGUMENTS or mentions_the_maximum(keyword.value):
                continue
            seconds = delay_seconds(keyword.arg, keyword.value)
            where = f"{filename}:{keyword.value.lineno} {keyword.arg}="
            if seconds is None:
                violations.append(f"{where}{ast.unparse(keyword.value)} is not shown to be bounded")
            elif seconds > maximum:
                violations.append(f"{where}{ast.unparse(keyword.value)} is {seconds:g} s")
    return violations


def test_the_delay_check_catches_long_and_unbounded_delays():
    # Given code with every kind of delay
    source = textwrap.dedent(
        """
        task.apply_async(countdown=60)
        task.apply_async(countdown=3600)
        task.apply_async(eta=now + dt.timedelta(minutes=2))
        task.apply_async(eta=now + timedelta(hours=2))
        task.apply_async(eta=now + timedelta(days=n))
        self.retry(exc=exc, countdown=delay)
        self.retry(countdown=min(delay, settings.CELERY_MAX_COUNTDOWN_SECONDS))
        shared_task(default_retry_delay=15 * 60)
        """
    )

    # When it is checked against a five-minute maximum
    violations = delay_violations(source, "example.py", maximum=300)

    # Then the long ones and the ones it cannot bound are reported, by line
    assert [v.split(" ", 1)[0] for v in violations] == [
        "example.py:3",  # an hour
        "example.py:5",  # two hours from now
        "example.py:6",  # a number of days only known at run time
        "example.py:7",  # a delay only known at run time, not clamped
        "example.py:9",  # a quarter of an hour
    ]
    assert "is 900 s" in violations[-1]


def test_no_code_schedules_a_task_further_ahead_than_the_maximum():
    # Given every Python file of the project
    sources = [
        path for package in PROJECT_PACKAGES for path in sorted((BASE_DIR / package).rglob("*.py"))
    ]
    assert any(path.name == "tasks.py" for path in sources)

    # Then no countdown or eta is longer than CELERY_MAX_COUNTDOWN_SECONDS
    violations = [
        violation
        for path in sources
        for violation in delay_violations(
            path.read_text(),
            str(path.relative_to(BASE_DIR)),
            maximum=settings.CELERY_MAX_COUNTDOWN_SECONDS,
        )
    ]
    assert violations == []


def test_retrying_tasks_back_off_within_the_maximum_and_give_up_eventually():
    # Given the project's tasks that retry on their own
    tasks = project_tasks()
    retrying = {
        name: task
        for name, task in tasks.items()
        if getattr(task, "autoretry_for", None) or getattr(task, "retry_backoff", False)
    }
    assert "outreach.tasks.send_follow_up_reminder_email" in retrying

    for name, task in retrying.items():
        # Then their retries are bounded in number
        assert task.max_retries is not None, name
        assert 0 < task.max_retries <= MOST_RETRIES, name
        # And no retry waits longer than the maximum
        if task.retry_backoff:
            assert task.retry_backoff_max <= settings.CELERY_MAX_COUNTDOWN_SECONDS, name
            first_delay = 1 if task.retry_backoff is True else task.retry_backoff
            assert first_delay <= settings.CELERY_MAX_COUNTDOWN_SECONDS, name

    # And no task's default retry delay is longer than the maximum either
    for name, task in tasks.items():
        assert task.default_retry_delay <= settings.CELERY_MAX_COUNTDOWN_SECONDS, name
