"""gunicorn's settings: `gunicorn -c config/gunicorn_conf.py config.wsgi:application`
(Procfile, Dockerfile).

The access log names the method and the path, never the query string or the
referring page (`%(q)s`, `%(r)s` (the request line) and `%(f)s` are left out: a
search or a link copied from a page could carry a name, an MRN or a birth date).
Each line ends with the request's id (X-Request-ID, config.request_id), which the
app's own JSON lines carry too.
"""

import gc
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 3)
# The app (and its URLconf, config/wsgi.py) is loaded once in the master and the
# workers forked from it: they share its memory, and a worker started later (one that
# died, or timed out) answers at once instead of after seconds of imports. A code
# change needs a restart of the master, not a HUP (deploys replace the process anyway).
preload_app = True


def pre_fork(server, worker):
    """Move everything the master holds (the preloaded app: ~260,000 objects) to the
    garbage collector's permanent generation just before each worker is forked, as
    Python's `gc.freeze` documentation advises for pre-fork servers: a worker's
    collections then never walk (nor write to, un-sharing the copy-on-write pages of)
    the app's modules, classes and settings. Its full collections had walked them all,
    about a third of a worker's time in the collector (the worklist API: ~1.7 ms of
    ~12 ms of CPU a request in the collector before, ~1.0 ms after)."""
    gc.freeze()


accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
