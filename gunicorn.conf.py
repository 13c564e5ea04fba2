"""gunicorn settings for production (`gunicorn -c gunicorn.conf.py truss.wsgi`)."""

from __future__ import annotations

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sizing (README, Scaling out; bench/RESULTS.md): a hop is mostly waiting on Hydra/Kratos, so each worker runs
# 4 threads; workers add CPU (the GIL holds one core per process): cores + 1 workers × 4 threads by default.
workers = int(os.environ.get("GUNICORN_WORKERS", str((os.cpu_count() or 1) + 1)))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# Hydra's login/consent challenges make request lines well over 1,000 characters; 8190 is gunicorn's maximum.
limit_request_line = 8190
limit_request_field_size = 16380
timeout = 30  # Hydra/Kratos calls time out after HYDRA_TIMEOUT/KRATOS_TIMEOUT (5 s) long before this
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# The query string carries login/consent challenges: log the path only.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
