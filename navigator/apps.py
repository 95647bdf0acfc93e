from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.backends.signals import connection_created

from config.pg_datetimes import use_c_timestamptz_loader
from config.session_timeout import start_clocks
from navigator.equity.sql import register_sqlite_functions


class NavigatorConfig(AppConfig):
    name = "navigator"

    def ready(self) -> None:
        # The equity figures' median runs inside SQLite as a Python aggregate, added to
        # every new SQLite connection (PostgreSQL has PERCENTILE_CONT).
        connection_created.connect(
            register_sqlite_functions, dispatch_uid="navigator.equity.sql.sqlite_functions"
        )
        # PostgreSQL timestamps parsed by psycopg's C loader (config.pg_datetimes).
        connection_created.connect(
            use_c_timestamptz_loader, dispatch_uid="config.pg_datetimes.c_timestamptz_loader"
        )
        # Sign-ins, sign-outs, failures and lockouts to the security log and audit trail
        # (imported here: it needs the audit trail's models, loaded only by now).
        from navigator.security_events import connect_receivers

        connect_receivers()
        # A session's idle and absolute clocks start at the sign-in.
        user_logged_in.connect(start_clocks, dispatch_uid="config.session_timeout.start_clocks")
