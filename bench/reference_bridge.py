"""The minimal reference bridge for bench/bridge_flows.py: only the mandatory Hydra admin calls.

Handles exactly the benchmark's case (Hydra remembers the login and the consent): login = GET the request,
accept with its subject; consent = GET the request, accept the requested scopes and audience. No Kratos, no
claims, no database, no audit, no i18n. Served by gunicorn exactly like Truss, so only the bridge differs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import requests

ADMIN = os.environ["HYDRA_ADMIN_URL"].rstrip("/") + "/admin/oauth2/auth/requests"
http = requests.Session()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    step = environ["PATH_INFO"].rsplit("/", 1)[-1]  # .../bridge/login or .../bridge/consent
    challenge = query[f"{step}_challenge"][0]
    params = {f"{step}_challenge": challenge}
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
