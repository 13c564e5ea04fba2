"""One mapping from Hydra/Kratos errors to HTTP answers, used by the JSON API, the console middleware and the
bridge, so an outage or a refusal means the same status everywhere.

Keyed on the error's service (``exc.service``) and class: the family bases in truss.ory.http are shared by
both services, so one table covers Hydra and Kratos.
"""

from __future__ import annotations

from dataclasses import dataclass

from truss.ory import http as ory_http

RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Answer:
    status: int
    code: str
    message: str
    service: str

    @property
    def unavailable(self) -> bool:
        return self.status == 503

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)} if self.unavailable else {}


# Most specific first; anything else from upstream is a 502 (the upstream misbehaved, not the caller).
_TABLE: list[tuple[type[ory_http.OryError], int, str]] = [
    (ory_http.OryUnavailable, 503, "unavailable"),
    (ory_http.OryNotFound, 404, "not_found"),
    (ory_http.OryConflict, 409, "conflict"),
    (ory_http.OryGone, 410, "gone"),
    (ory_http.OryBadRequest, 400, "invalid_request"),
]


def answer_for(exc: ory_http.OryError) -> Answer:
    service = exc.service
    status, code = next(((s, c) for kind, s, c in _TABLE if isinstance(exc, kind)), (502, "upstream_error"))
    if status == 503:
        return Answer(
            503, f"{service.lower()}_unavailable", f"{service} is unavailable. Try again shortly.", service
        )
    if status == 502:
        # Never echo an unexpected upstream body: it may hold internals.
        return Answer(502, code, f"{service} answered unexpectedly.", service)
    description = exc.description or exc.error or str(exc)
    return Answer(status, code, str(description), service)
