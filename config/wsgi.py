"""The WSGI application gunicorn serves (config/gunicorn_conf.py).

The URLconf is loaded here, not on a worker's first request as Django would: it
imports every view, and through the dashboards' statistics scipy, about two seconds
of CPU. gunicorn loads this module once in its master (`preload_app`) and forks the
workers from it, so that they share those pages of memory and none of them makes a
patient wait seconds for its first answer (nor after a worker is replaced). Nothing
here opens a database connection (tests/config/test_wsgi.py): one opened before
the fork would be shared by every worker.
"""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - loaded for its import, see above
