"""gunicorn settings for production (`gunicorn -c gunicorn.conf.py truss.wsgi`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

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
# No access log of gunicorn's own: Truss writes one line per request (logger truss.request: method, route name,
# status, duration, tenant, actor, request id, client address), plain or JSON (LOG_FORMAT), never the query
# string, which carries login/consent challenges.
accesslog = None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

if os.environ.get("LOG_FORMAT", "plain").strip().lower() == "json":
    # gunicorn's own lines (start-up, worker exits, errors) as JSON too: every line on stderr is one object.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "truss.logs.JsonFormatter"}},
        "handlers": {
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
        "root": {"level": "INFO", "handlers": ["error_console"]},
    }

# Prometheus (truss/metrics.py): every worker is a process of its own, so prometheus-client runs in its
# multiprocess mode: each process writes its values to files in PROMETHEUS_MULTIPROC_DIR, and /metrics, answered
# by any worker, adds up all of them (those of workers that have exited included: counters never go back). The
# variable must be set before a worker imports prometheus_client: here, in the master, before any worker starts.
# Set it to a folder of your own (emptied at every start) to have management commands on this host count into the
# same files; unset, a private temporary folder is made and removed when gunicorn stops.
_MADE_HERE = "TRUSS_METRICS_DIR_MADE"  # marks the folder as ours, across a configuration reload (HUP)
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="truss-metrics-")
    os.environ[_MADE_HERE] = "1"


def clear_metrics_dir(path: str) -> None:
    """Remove the values an earlier run left (its counts would otherwise be added to this run's)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.db"):
        leftover.unlink(missing_ok=True)


def on_starting(server: Any) -> None:
    clear_metrics_dir(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # its live gauges go; counts stay


def on_exit(server: Any) -> None:
    if os.environ.get(_MADE_HERE) == "1":
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
