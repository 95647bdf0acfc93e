"""Settings for the test suite: the real settings with test-only overrides."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-never-used-in-production")

from config.settings import *  # noqa: E402,F403

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# The test client and the live server speak plain http; tests of the production
# settings load them in a fresh interpreter (tests/project/test_deploy_settings.py).
SECURE_SSL_REDIRECT = False
# A fast hasher: Argon2 costs ~100 ms a password by design. Production's Argon2 is
# proven in tests/config/test_passwords.py, which loads the real settings.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tasks run inline in the test process; tests that need a real worker start one.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Serve static files from the apps' folders, as in development: no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Threads in tests (the live server's, concurrency tests') must not keep
# connections open past their request, or the test database cannot be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0
# A replica alias that mirrors the test database (Django creates nothing for it), so the
# router's tests can turn EQUINAV_READ_REPLICA on and see report queries go there
# (tests/config/test_db_router.py). Off here: the suite runs as a deployment without one.
DATABASES[REPLICA] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
EQUINAV_READ_REPLICA = False
# Texts go to a file, as e-mail goes to memory: a text that falls due while a test runs
# (a recall whose 10:00 slot has come, depending on the time of day) must not need a
# provider's credentials. Tests of the providers build their backend themselves.
EQUINAV_SMS_BACKEND = "outreach.messaging.sms_backends.FileBackend"
EQUINAV_SMS_FILE_PATH = os.path.join(tempfile.gettempdir(), f"equinav-test-sms-{os.getpid()}.jsonl")
# Many tests sign in and then move the clock on by hours or days: with the real limits
# they would be signed out. The limits' own tests set them (tests/config/test_session_timeout.py),
# and tests/config/test_signin_settings.py proves production's defaults.
EQUINAV_SESSION_IDLE_SECONDS = 10 * 365 * 24 * 60 * 60
EQUINAV_SESSION_MAX_SECONDS = 10 * 365 * 24 * 60 * 60
SESSION_COOKIE_AGE = EQUINAV_SESSION_MAX_SECONDS
