"""The minimal reference bridge for bench/bridge_flows.py: only the mandatory Hydra admin calls.

Handles exactly the benchmark's case (Hydra remembers the login and the consent): login = GET the request,
accept with its subject; consent = GET the request, accept the requested scopes and audience. No Kratos, no
claims, no database, no audit, no i18n. Served by gunicorn exactly like Truss (gunicorn.conf.py, same workers
and threads), with a pooled keep-alive session per thread like Truss's, so only the bridge differs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import requests

ADMIN = os.environ["HYDRA_ADMIN_URL"].rstrip("/") + "/admin/oauth2/auth/requests"
_local = threading.local()


def _http() -> requests.Session:
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/healthz":
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    step = environ["PATH_INFO"].rsplit("/", 1)[-1]  # .../bridge/login or .../bridge/consent
    challenge = query[f"{step}_challenge"][0]
    params = {f"{step}_challenge": challenge}
    http = _http()
    request = http.get(f"{ADMIN}/{step}", params=params, timeout=5).json()
    if step == "login":
        body: dict[str, Any] = {"subject": request["subject"]}
    else:
        body = {
            "grant_scope": request["requested_scope"],
            "grant_access_token_audience": request["requested_access_token_audience"],
        }
    redirect_to = http.put(f"{ADMIN}/{step}/accept", params=params, json=body, timeout=5).json()[
        "redirect_to"
    ]
    start_response("302 Found", [("Location", redirect_to), ("Content-Length", "0")])
    return [b""]
