"""EquiNav settings.

Everything that differs between a laptop, CI and production is read from the
environment. With nothing set, the app runs embedded: a SQLite file (WAL, immediate
transactions, a busy timeout) and a Celery broker on a SQLite file of its own, so
`make run` needs nothing but Python (config/embedded.py says why each choice).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config import celery_beat, celery_queues
from config.db_router import REPLICA, replica_database
from config.embedded import BROKER_FILENAME, broker_connection, sqlite_options
from config.log_format import logging_settings
from config.postgres_options import with_startup_options

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("EQUINAV_RUN_DIR", BASE_DIR / ".run"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# A development key is only acceptable while DEBUG is on; production must set
# its own, and refuses to start otherwise.
_DEVELOPMENT_SECRET_KEY = "django-insecure-equinav-development-only"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY or SECRET_KEY == _DEVELOPMENT_SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a unique, unpredictable value when DEBUG is off."
        )
    SECRET_KEY = _DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    # API tokens stored as hashes, with an expiry (replaces rest_framework.authtoken).
    "knox",
    # Sign-in lockout after repeated failures (per username and per address).
    "axes",
    # TOTP two-factor for the privileged roles (EQUINAV_REQUIRE_TOTP_FOR_PRIVILEGED).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "phonenumber_field",
    # Database triggers: the audit trail and the clinical records refuse UPDATE or
    # DELETE at the database itself, whatever interface a change comes through.
    "pgtrigger",
    "pghistory",
    "navigator",
    "navigator.audit",
    "patients",
    "outreach",
]

MIDDLEWARE = [
    # First: every later middleware's log lines, and the answer, carry the request's id.
    "config.request_id.RequestIdMiddleware",
    # An API view lets go of its page and response once the answer is sent (freed then,
    # not by the garbage collector later); where it stands does not matter.
    "config.middleware.ApiViewReleaseMiddleware",
    # Health checks (config.health): answered before the host check and the HTTPS
    # redirect, since probes reach a pod by its address over plain HTTP.
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed a TOTP check.
    "django_otp.middleware.OTPMiddleware",
    # Records every signed-in request and the patients it touched (45 CFR 164.312(b)).
    "navigator.audit.middleware.AccessAuditMiddleware",
    # The user, path and request id of the changes the request makes, for the
    # triggers that keep the clinical records' history (PostgreSQL only).
    "navigator.audit.middleware.ChangeContextMiddleware",
    # After authentication (it asks whether the user is signed in); WhiteNoise above
    # answers static files before they reach it, so they stay cacheable.
    "config.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages (it says why it signed someone out): idle and absolute session limits.
    "config.session_timeout.SessionTimeoutMiddleware",
    # Managers and admins verify a TOTP code before any page, when the setting asks.
    "config.two_factor.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a sign-in refused by the lockout into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.session_limits",
            ],
        },
    },
]

# A plain dict per database (not dj-database-url's TypedDict): the replica entry below is
# built by config.db_router with keys of its own (TEST, DISABLE_SERVER_SIDE_CURSORS).
DATABASES: dict[str, dict[str, Any]] = {
    "default": dict(
        dj_database_url.parse(
            os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
            conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
            conn_health_checks=True,
        )
    )
}
# Behind PgBouncer in transaction pooling a server-side cursor (`.iterator()`) cannot
# outlive its transaction's server connection: DATABASE_DISABLE_SERVER_SIDE_CURSORS=1.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = (
    os.environ.get("DATABASE_DISABLE_SERVER_SIDE_CURSORS", "") == "1"
)
if "postgresql" in DATABASES["default"]["ENGINE"]:
    # JIT off (config/postgres_options.py: it compiled for longer than the care-gap
    # upsert ran).
    DATABASES["default"]["OPTIONS"] = with_startup_options(DATABASES["default"].get("OPTIONS"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several users, the worker and beat write at once: WAL, BEGIN IMMEDIATE and a busy
    # timeout turn "database is locked" into a short wait (config/embedded.py).
    DATABASES["default"]["OPTIONS"] = sqlite_options()
# A read replica of the primary (PostgreSQL streaming replication), when
# DATABASE_REPLICA_URL names one: the dashboards' report queries read from it
# (config.db_router, docs/deploy.md); everything else, and every write, uses default.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "").strip()
if DATABASE_REPLICA_URL:
    DATABASES[REPLICA] = replica_database(DATABASE_REPLICA_URL, primary=DATABASES["default"])
EQUINAV_READ_REPLICA = bool(DATABASE_REPLICA_URL)
# A replica further behind than this (seconds) is skipped: reports read the primary.
EQUINAV_REPLICA_MAX_LAG_SECONDS = float(os.environ.get("EQUINAV_REPLICA_MAX_LAG_SECONDS", "30"))
DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A FHIR bundle from an EHR can be large; the importer refuses more than 20 MB itself.
DATA_UPLOAD_MAX_MEMORY_SIZE = 21 * 1024 * 1024
# An uploaded file up to this size stays in memory instead of a temporary file on disk:
# a referral CSV (at most 20 MB, patients.uploads.parse) names patients.
FILE_UPLOAD_MAX_MEMORY_SIZE = 21 * 1024 * 1024

AUTH_USER_MODEL = "navigator.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Sign-in (issue 14, item 3; docs/security.md "Sign-in and sessions") ----------
# Argon2id first: new passwords and every password signed in with are stored with it
# (memory-hard, OWASP's first choice). The others stay so that hashes made before
# still verify; Django rehashes them with Argon2 at the user's next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# django-axes first: it refuses a locked username or address before any password is
# checked (so a locked account costs an attacker nothing and learns them nothing).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock a username after this many failures from anywhere, and an address after this
# many failures against any usernames: guessing one account from many addresses and
# many accounts from one address are both stopped.
AXES_FAILURE_LIMIT = int(os.environ.get("EQUINAV_SIGNIN_FAILURE_LIMIT") or 5)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Locked for this long after the last failure (a failure while locked starts it again).
AXES_COOLOFF_TIME = dt.timedelta(
    minutes=int(os.environ.get("EQUINAV_SIGNIN_COOLOFF_MINUTES") or 15)
)
# A correct sign-in clears the count, so a few typos a week never lock anyone.
AXES_RESET_ON_SUCCESS = True
# The lockout answer: the sign-in page (or JSON for the API) with 429 and Retry-After,
# the same words whether or not the username exists.
AXES_LOCKOUT_CALLABLE = "config.signin.lockout_response"
# The client's address as the audit trail reads it: X-Forwarded-For believed only as
# far as EQUINAV_TRUSTED_PROXY_COUNT proxies of ours, else REMOTE_ADDR alone; a client
# cannot forge an address to escape the lockout.
AXES_CLIENT_IP_CALLABLE = "config.client_address.client_address"
# Failures are logged by our own handlers (config.signin), without passwords; axes'
# own access log of every success is the audit trail's job, not a second table.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# The sign-in page needs no limit of its own: axes locks an address after five
# failures, and a successful sign-in costs one Argon2 hash per correct password.

# Sessions end after EQUINAV_SESSION_IDLE_SECONDS without activity (HIPAA automatic
# logoff, 45 CFR 164.312(a)(2)(iii)) and EQUINAV_SESSION_MAX_SECONDS after sign-in
# whatever happens (config.session_timeout); pages warn two minutes before the idle end.
EQUINAV_SESSION_IDLE_SECONDS = int(os.environ.get("EQUINAV_SESSION_IDLE_SECONDS") or 900)
EQUINAV_SESSION_MAX_SECONDS = int(os.environ.get("EQUINAV_SESSION_MAX_SECONDS") or 43_200)
EQUINAV_SESSION_WARNING_SECONDS = int(os.environ.get("EQUINAV_SESSION_WARNING_SECONDS") or 120)
# The cookie itself never outlives the absolute limit, and goes when the browser closes.
SESSION_COOKIE_AGE = EQUINAV_SESSION_MAX_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Two-factor (django-otp, TOTP): when on, managers, admins and superusers enrol an
# authenticator app and enter its code at each sign-in before any page, the admin or
# an API token. Off by default so a laptop demo needs no phone; production turns it on.
EQUINAV_REQUIRE_TOTP_FOR_PRIVILEGED = env_bool("EQUINAV_REQUIRE_TOTP_FOR_PRIVILEGED", False)
OTP_TOTP_ISSUER = "EquiNav"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Transport security (45 CFR 164.312(e)). With DEBUG off, everything is HTTPS by
# default: plain HTTP is redirected, browsers are told to use nothing else for a year
# (HSTS, subdomains included) and cookies are only sent over HTTPS. Each can be turned
# off from the environment, for trying a production build over local http.
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Empty counts as unset (docker-compose passes an unset variable through as "").
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or (0 if DEBUG else 31_536_000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# Asking to be preloaded into browsers is the domain owner's one-way decision for the
# whole domain (subdomains too), not the app's: off unless asked for, and then
# check --deploy's reminder about it (security.W021) is silenced only until it is.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Only a proxy that sets this header itself (and strips it from clients) may be
# believed about HTTPS; otherwise any client could claim it. Name the header, e.g.
# SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto, only when the proxy in front does so.
_proxy_ssl_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp 4): everything from our own origin, nothing
# inline. Templates carry no <script> bodies, event-handler attributes or style=""
# (tests/project/test_security_headers.py looks); htmx's indicator styles are in
# equinav.css, turned off in base.html's htmx-config meta tag. Images may be data:
# URIs: the empty favicon and the icons inside the API docs' stylesheet.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Powerful browser features EquiNav never uses, off for the page and any frame.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(RUN_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "EquiNav <equinav@localhost>")

PHONENUMBER_DEFAULT_REGION = os.environ.get("PHONENUMBER_DEFAULT_REGION", "US")
PHONENUMBER_DB_FORMAT = "E164"

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: DRF answers 401 (with WWW-Authenticate: Token) only when the first class
    # names a challenge; with Session first, a missing or invalid token was a 403.
    # Knox's tokens: stored as SHA-512 digests, expiring, revocable
    # (navigator.services.api_tokens); checked without knox's per-request sweep of the
    # caller's other tokens (config.api_auth).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api_auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Rate limits by scope (ScopedRateThrottle on the views that name one): the token
    # endpoint per address, the SMS provider's webhooks per address. 429 + Retry-After.
    "DEFAULT_THROTTLE_RATES": {
        # DRF's own defaults kept: no limit for anonymous or signed-in callers in general.
        "anon": None,
        "user": None,
        "token": os.environ.get("EQUINAV_THROTTLE_TOKEN") or "10/min",
        "token_manage": os.environ.get("EQUINAV_THROTTLE_TOKEN_MANAGE") or "60/min",
        "webhook": os.environ.get("EQUINAV_THROTTLE_WEBHOOK") or "600/min",
        # Posting the sign-in page, per address (config.views.SignInView): beside the
        # lockout (five failures), a cap on what one address may try at all.
        "signin": os.environ.get("EQUINAV_THROTTLE_SIGNIN") or "20/min",
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Documents each operation's error responses too (config/api_schema.py).
    "DEFAULT_SCHEMA_CLASS": "config.api_schema.ErrorResponsesAutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# API tokens (django-rest-knox): a token lasts EQUINAV_API_TOKEN_HOURS, then is refused
# (401) and deleted; its owner lists and revokes them, and a password change revokes all.
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(hours=float(os.environ.get("EQUINAV_API_TOKEN_HOURS") or 10)),
    "AUTH_HEADER_PREFIX": "Token",
    # At most this many live tokens per user: a leaked password cannot mint thousands.
    "TOKEN_LIMIT_PER_USER": int(os.environ.get("EQUINAV_API_TOKENS_PER_USER") or 10),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "EquiNav API",
    "DESCRIPTION": "Patient navigation for cancer screening: referrals, cases, outreach, reports."
    "\n\nEach operation lists the errors it can answer. Any operation may also answer 400 "
    "(`{detail}`) to a request refused before it is read (too many parameters) and 405 to a "
    "method it does not list.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs answer 401 to anonymous callers unless DEBUG (issue 14).
    "SERVE_PERMISSIONS": ["config.api.SignedInOutsideDebug"],
    # The docs page is served from our own static files: no CDN on hospital intranets.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "navigator.models.CaseStatus",
        "BarrierStatusEnum": "navigator.models.BarrierStatus",
        "AppointmentStatusEnum": "navigator.models.AppointmentStatus",
        "InterpreterRequestStatusEnum": "outreach.models.InterpreterRequestStatus",
        "FollowUpKindEnum": "patients.models.FollowUpKind",
        "FollowUpCloseReasonEnum": "navigator.models.FollowUpCloseReason",
        "PatientSexEnum": "patients.models.Sex",
        "ProgramSexEnum": "patients.models.Sexes",
        # Race and language answers share one set of sources.
        "DemographicSourceEnum": "patients.models.DemographicSource",
        "FhirBulkImportStatusEnum": "patients.models.FhirBulkImport.Status",
        # Coaching (navigator.api.coaching).
        "CoachingSessionStatusEnum": "navigator.models.CoachingSessionStatus",
        "CoachingSessionOutcomeEnum": "navigator.api.coaching_serializers.SESSION_OUTCOMES",
        "SelfCareBehaviourEnum": "navigator.models.SelfCareBehaviour",
        "GoalOutcomeEnum": "navigator.models.GoalOutcome",
        "EnrolmentStatusEnum": "navigator.models.EnrolmentStatus",
        "AttendanceStatusEnum": "navigator.models.AttendanceStatus",
        "OutcomeEnum": "outreach.models.Outcome",
        "ModalityEnum": "outreach.models.InterpreterModality",
    },
}

# --- Celery -------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# The longest a task may run; the broker's visibility timeout must exceed twice
# this, or Redis would hand a still-running task to a second worker.
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # How long a task taken by a worker that died waits before Redis hands it
        # to another. The fault tests lower it to seconds.
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", str(60 * 60))),
    }
else:
    # A broker that needs no server: kombu's SQLAlchemy transport on a SQLite file of
    # its own (the filesystem transport let the worker read a half-written message).
    # Good for a demo on one machine, never for production. How it delivers:
    # - a worker takes a message in one BEGIN IMMEDIATE transaction that marks its row
    #   invisible; acknowledging it only forgets it in the worker's memory (the row is
    #   never deleted: the file grows by each message, a few kB a day for a demo);
    # - a worker stopped warmly (Ctrl-C, SIGTERM) puts back what it had not acknowledged;
    # - a worker that dies (SIGKILL, OOM, power) loses the one task it was running
    #   (prefetch 1, solo pool): the row stays invisible, and nothing redelivers it.
    #   There is no visibility timeout, so a running task is never handed to a second
    #   worker either. The database is the source of truth for what a lost task did
    #   not do: the patient-message sweep claims a message again when its lease runs
    #   out, and the reminder e-mail sweep resends every 15 minutes (CELERY_BEAT_SCHEDULE).
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    _broker_path = RUN_DIR / BROKER_FILENAME
    CELERY_BROKER_URL = f"sqla+sqlite:///{_broker_path}"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Passed to SQLAlchemy's create_engine: WAL and a 30 s busy timeout.
        "creator": broker_connection(_broker_path),
    }
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Nothing is scheduled further ahead than this with countdown/eta: anything
# later is a database row that a beat task sweeps.
CELERY_MAX_COUNTDOWN_SECONDS = 5 * 60
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# One queue per kind of work, each with its own workers past one machine
# (config/celery_queues.py, docs/deploy.md); a worker without -Q consumes them all.
CELERY_TASK_DEFAULT_QUEUE = celery_queues.DEFAULT_QUEUE
CELERY_TASK_QUEUES = celery_queues.QUEUES
CELERY_TASK_ROUTES = celery_queues.task_routes()
CELERY_BEAT_SCHEDULE_FILENAME = str(RUN_DIR / "celerybeat-schedule")
# What beat enqueues, and when (config/celery_beat.py).
CELERY_BEAT_SCHEDULE = celery_beat.BEAT_SCHEDULE

# --- Logging: no PHI. Our own loggers log ids, never names or notes. -------------
# One JSON object a line (config.log_format.JsonFormatter: timestamp, level, logger,
# message, request_id); EQUINAV_LOG_FORMAT=text for people reading a terminal (the
# default while DEBUG is on). Exceptions are logged with their type and traceback, never
# their message (it may quote a row). Django's own loggers (django.request: "Not Found:
# /path", the path without its query string; django.server: runserver's access lines,
# query strings cut) go through the same handler; nothing is e-mailed to admins.
EQUINAV_LOG_FORMAT = os.environ.get("EQUINAV_LOG_FORMAT", "text" if DEBUG else "json").strip()
if EQUINAV_LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"EQUINAV_LOG_FORMAT is {EQUINAV_LOG_FORMAT!r}: use json or text.")
LOGGING = logging_settings(fmt=EQUINAV_LOG_FORMAT, level=os.environ.get("LOG_LEVEL", "INFO"))
# A Celery worker logs through the LOGGING above (JSON, request ids) rather than its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- EquiNav --------------------------------------------------------------------
# Days until the next follow-up when the navigator does not choose one.
EQUINAV_FOLLOW_UP_DAYS_NOT_REACHED = 2
EQUINAV_FOLLOW_UP_DAYS_REACHED = 7
EQUINAV_SITE_URL = os.environ.get("EQUINAV_SITE_URL", "http://127.0.0.1:8000")
# Outreach letters (outreach.letters.case_letter): the letterhead, and the number patients call,
# per program code where a program has its own ("colorectal=617-555-0101,breast=...").
EQUINAV_LETTERHEAD = {
    "organization": os.environ.get("EQUINAV_LETTER_ORGANIZATION", "EquiNav Patient Navigation"),
    "address": [
        line.strip()
        for line in os.environ.get("EQUINAV_LETTER_ADDRESS", "").split("|")
        if line.strip()
    ],
    "phone": os.environ.get("EQUINAV_LETTER_PHONE", "(617) 555-0100"),
}
EQUINAV_PROGRAM_PHONES = dict(
    item.split("=", 1) for item in env_list("EQUINAV_PROGRAM_PHONES", []) if "=" in item
)

# --- Patient texts (outreach.messaging.sms_backends) ---
# Development prints texts to the console; production names a real provider.
EQUINAV_SMS_BACKEND = os.environ.get(
    "EQUINAV_SMS_BACKEND",
    "outreach.messaging.sms_backends.ConsoleBackend"
    if DEBUG
    else "outreach.messaging.sms_backends.TwilioBackend",
)
EQUINAV_SMS_FILE_PATH = os.environ.get("EQUINAV_SMS_FILE_PATH", str(RUN_DIR / "sms.jsonl"))
EQUINAV_SMS_API_URL = os.environ.get("EQUINAV_SMS_API_URL", "https://api.twilio.com")
EQUINAV_SMS_FROM = os.environ.get("EQUINAV_SMS_FROM", "")
EQUINAV_SMS_TIMEOUT = float(os.environ.get("EQUINAV_SMS_TIMEOUT", "10"))
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
# At most this many messages a day and a week per patient (the FCC's healthcare
# exemption allows one a day and three a week).
EQUINAV_MESSAGES_PER_DAY = int(os.environ.get("EQUINAV_MESSAGES_PER_DAY", "1"))
EQUINAV_MESSAGES_PER_WEEK = int(os.environ.get("EQUINAV_MESSAGES_PER_WEEK", "3"))
# A message claimed for sending this long ago and still not sent belonged to a worker
# that died: the sweep claims it again (its idempotency key stops a second send).
EQUINAV_MESSAGE_LEASE_SECONDS = int(os.environ.get("EQUINAV_MESSAGE_LEASE_SECONDS", "600"))
# The wait after a failed try: this, doubled each time, plus jitter.
EQUINAV_MESSAGE_RETRY_SECONDS = int(os.environ.get("EQUINAV_MESSAGE_RETRY_SECONDS", "60"))
# One sweep claims batches of this many until none is due or its time is up.
EQUINAV_SWEEP_BATCH = int(os.environ.get("EQUINAV_SWEEP_BATCH", "500"))
EQUINAV_SWEEP_SECONDS = int(os.environ.get("EQUINAV_SWEEP_SECONDS", "50"))
# Messages per send task the sweep enqueues: few enough that a batch sends well
# inside CELERY_TASK_SOFT_TIME_LIMIT (100 at up to 2 s each), and several tasks per
# claimed batch so that workers share it; many enough that publishing is cheap.
EQUINAV_SEND_TASK_BATCH = int(os.environ.get("EQUINAV_SEND_TASK_BATCH", "100"))

# --- The equity dashboard (navigator.equity) ---
# CMS cell-size policy: a count from 1 to this number is shown as "<11" and hidden
# with enough other cells that it cannot be worked back out (navigator.equity.suppression).
EQUINAV_SMALL_CELL_MAX = int(os.environ.get("EQUINAV_SMALL_CELL_MAX", "10"))
# The dashboard warns where fewer than this share of the patients counted have their race
# and ethnicity, or their language, recorded (navigator.equity.quality).
EQUINAV_DEMOGRAPHIC_COMPLETENESS_MIN = float(
    os.environ.get("EQUINAV_DEMOGRAPHIC_COMPLETENESS_MIN", "0.90")
)

# The audit trail (navigator.audit) is kept six years by default: HIPAA keeps the
# documentation its safeguards require for six years (45 CFR 164.316(b)(2)(i)).
# The nightly purge removes rows older than this, and only those.
EQUINAV_AUDIT_RETENTION_DAYS = int(os.environ.get("EQUINAV_AUDIT_RETENTION_DAYS", str(6 * 366)))

# How many proxies of ours stand in front of the app, each appending to
# X-Forwarded-For: the client's address (audit trail, sign-in lockouts) is read that
# many hops from the right. 0: no proxy, REMOTE_ADDR alone (config/client_address.py).
EQUINAV_TRUSTED_PROXY_COUNT = int(os.environ.get("EQUINAV_TRUSTED_PROXY_COUNT", "0"))

# Where rate limits count. Each process's memory by default (the embedded setup runs one
# web process); with several web workers or replicas, a shared cache, so that a limit is
# one limit: e.g. EQUINAV_CACHE_URL=redis://127.0.0.1:6379/1 (not the broker's database:
# the tests clear the cache).
_cache_url = os.environ.get("EQUINAV_CACHE_URL", "").strip()
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
