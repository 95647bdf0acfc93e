"""The embedded default's settings (config.settings, no REDIS_URL: the SQLite broker)
with a beat schedule of seconds and a task that records each message it runs, for
tests/config/test_embedded_broker.py's worker and beat processes."""

from config.settings import *  # noqa: F403

CELERY_IMPORTS = ["tests.support.embedded_tasks"]
# Beat publishes every half second while the test's own publishers send theirs.
CELERY_BEAT_SCHEDULE = {
    "tick": {"task": "tests.support.embedded_tasks.record", "schedule": 0.5, "args": ["tick"]},
}
