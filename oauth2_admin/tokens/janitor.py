"""Cleanup of Hydra's database with `hydra janitor` (Hydra v2 has no flush endpoint; notes/hydra.md §2.1).

Truss runs the janitor only when it knows how to reach Hydra's database: settings HYDRA_JANITOR_DSN (the DSN
Hydra itself uses; passed in the child's environment, never on its command line, never shown or audited) and
HYDRA_BIN (the hydra binary, same version as the server). One run at a time: the lock is a row of JanitorRun
with status "running", unique by a partial constraint, so it holds across processes and hosts.

What the janitor deletes (hydra v2.3.0 persistence/sql/persister_oauth2.go flushInactiveTokens): access tokens
whose *issue time* is older than max(access lifespan, keep-if-younger), refresh tokens older than max(refresh
lifespan, keep-if-younger). It never reads a token's own expiry or the clients' per-grant lifespans, so the
lifespans given here must be at least the longest ones in use, or live tokens are deleted too.

Counts: Hydra prints only "Successfully completed Janitor run on <routine>" on stdout; with LOG_LEVEL=debug it
logs "flushed_records: N" once per token table (access tokens first, then refresh tokens; Hydra labels both
"Flush Refresh Tokens"). Requests and grants report completion without a count.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from oauth2_admin.tokens.models import JanitorRun
from truss import audit
from truss.apikit import JsonInt
from truss.audit import Action

# Below gunicorn's 30 s worker timeout: the page waits for the run. Larger backlogs: the scheduled job.
TIMEOUT_SECONDS = 25.0
# A "running" row older than this belongs to a process that died: it no longer holds the lock.
STALE_AFTER = timedelta(seconds=TIMEOUT_SECONDS * 4)

_GO_DURATION = r"^([0-9]{1,6}(\.[0-9]{1,9})?(ns|us|µs|ms|s|m|h))+$"
_COMPLETED = re.compile(r"Successfully completed Janitor run on (.+)")
_FLUSHED = re.compile(r"flushed_records: (\d+)")

COMPOSE_SNIPPET = """\
  hydra-janitor:
    image: oryd/hydra:v2.3.0
    # Every hour: tokens issued over 1 h (access) / 720 h (refresh) ago, and old login/consent requests.
    # Keep --access-lifespan/--refresh-lifespan >= the longest lifespans in use (ttl.* and per-client).
    entrypoint: ["/bin/sh", "-c", "while true; do hydra janitor -e --tokens --requests --grants \\
      --access-lifespan 1h --refresh-lifespan 720h --consent-request-lifespan 30m; sleep 3600; done"]
    environment:
      DSN: postgres://hydra:change-me@postgres:5432/hydra?sslmode=disable
    depends_on:
      hydra-migrate: {condition: service_completed_successfully}
    restart: unless-stopped"""
CRON_LINE = (
    "0 * * * * DSN='<Hydra DSN>' hydra janitor -e --tokens --requests --grants "
    "--access-lifespan 1h --refresh-lifespan 720h --consent-request-lifespan 30m"
)


# At least one of the three routines: a default (absent) counts as chosen. In the contract as well as in the
# check, so that what the document calls valid is run.
_SOME_ROUTINE: JsonDict = {
    "anyOf": [
        {"properties": {"tokens": {"const": True}}},
        {"properties": {"requests": {"const": True}}},
        {"properties": {"grants": {"const": True}}, "required": ["grants"]},
    ]
}


class JanitorOptions(BaseModel):
    """What to clean and the cutoffs, as `hydra janitor` flags. Durations are Go durations ("90m", "1h"), each
    part at most six digits (well inside Go's 290 years). A batch larger than the limit is run as one batch of
    the limit."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_SOME_ROUTINE)

    tokens: bool = True
    requests: bool = True
    grants: bool = False
    keep_if_younger: str = Field(default="0s", pattern=_GO_DURATION, max_length=20)
    access_lifespan: str = Field(default="1h", pattern=_GO_DURATION, max_length=20)
    refresh_lifespan: str = Field(default="720h", pattern=_GO_DURATION, max_length=20)
    consent_request_lifespan: str = Field(default="30m", pattern=_GO_DURATION, max_length=20)
    limit: JsonInt = Field(default=10000, ge=1, le=1_000_000)
    batch_size: JsonInt = Field(default=100, ge=1, le=10_000)

    @model_validator(mode="after")
    def _some_routine(self) -> JanitorOptions:
        if not (self.tokens or self.requests or self.grants):
            raise ValueError("choose at least one of tokens, requests or grants")
        return self

    def flags(self) -> list[str]:
        chosen = [f"--{name}" for name in ("tokens", "requests", "grants") if getattr(self, name)]
        return [
            *chosen,
            "--keep-if-younger",
            self.keep_if_younger,
            "--access-lifespan",
            self.access_lifespan,
            "--refresh-lifespan",
            self.refresh_lifespan,
            "--consent-request-lifespan",
            self.consent_request_lifespan,
            "--limit",
            str(self.limit),
            "--batch-size",
            str(min(self.batch_size, self.limit)),  # hydra refuses a batch over the limit
        ]


class NotConfigured(Exception):
    """HYDRA_JANITOR_DSN or HYDRA_BIN is missing."""


class Busy(Exception):
    """Another janitor run is in progress."""


class RunFailed(Exception):
    def __init__(self, run: JanitorRun) -> None:
        self.run = run
        super().__init__(run.detail or run.status)


@dataclass(frozen=True)
class Configuration:
    configured: bool
    binary: str | None
    database: str | None  # scheme and host only: the DSN itself is a secret
    problem: str | None


def _describe_dsn(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    if scheme == "sqlite":
        return "sqlite (file)"
    host = rest.rsplit("@", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    return f"{scheme} at {host}" if host else scheme


def configuration() -> Configuration:
    dsn = getattr(settings, "HYDRA_JANITOR_DSN", "")
    configured_bin = getattr(settings, "HYDRA_BIN", "") or "hydra"
    binary = shutil.which(configured_bin)
    if not dsn:
        return Configuration(False, binary, None, "HYDRA_JANITOR_DSN is not set.")
    if dsn.strip() == "memory":
        return Configuration(
            False,
            binary,
            "memory",
            "Hydra's in-memory database lives inside the server process: no janitor can reach it.",
        )
    if binary is None:
        return Configuration(
            False, None, _describe_dsn(dsn), f"HYDRA_BIN: no executable at {configured_bin!r}."
        )
    return Configuration(True, binary, _describe_dsn(dsn), None)


def history(limit: int = 20) -> list[JanitorRun]:
    return list(JanitorRun.objects.all()[:limit])


def _acquire(actor: str, options: JanitorOptions) -> JanitorRun:
    now = timezone.now()
    JanitorRun.objects.filter(status=JanitorRun.Status.RUNNING, started_at__lt=now - STALE_AFTER).update(
        status=JanitorRun.Status.ABANDONED, finished_at=now, detail="The process running it stopped."
    )
    try:
        with transaction.atomic():
            return JanitorRun.objects.create(started_at=now, actor=actor, options=options.model_dump())
    except IntegrityError as exc:
        raise Busy("Another cleanup is running; try again when it has finished.") from exc


def parse_output(stdout: str, stderr: str) -> tuple[list[str], int | None, int | None]:
    """(completed routines, access tokens removed, refresh tokens removed) from the janitor's output."""
    completed = _COMPLETED.findall(stdout)
    counts = [int(n) for n in _FLUSHED.findall(stderr)]
    access = refresh = None
    if "access tokens" in completed and counts:
        access = counts[0]
        if "refresh tokens" in completed and len(counts) > 1:
            refresh = counts[1]
    return completed, access, refresh


def _scrub(text: str, dsn: str) -> str:
    text = text.replace(dsn, "<DSN>") if dsn else text
    lines = [line for line in text.strip().splitlines() if "level=debug" not in line]
    return "\n".join(lines[-8:])[:2000]


def run(request: HttpRequest | None, options: JanitorOptions) -> JanitorRun:
    """Run the janitor once (platform admins; the caller checks). Audited once as oauth2.tokens.flush."""
    with audit.mutation(request, Action.TOKENS_FLUSH, None, "hydra-janitor") as event:
        config = configuration()
        if not config.configured or config.binary is None:
            raise NotConfigured(config.problem or "The janitor is not configured.")
        dsn: str = settings.HYDRA_JANITOR_DSN
        record = _acquire(audit.actor_of(request), options)
        env = {"DSN": dsn, "LOG_LEVEL": "debug", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        try:
            done = subprocess.run(  # noqa: S603 - fixed binary, flags built from validated options
                [config.binary, "janitor", "-e", *options.flags()],
                capture_output=True,
                text=True,
                env=env,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            record.status = JanitorRun.Status.TIMEOUT
            record.detail = f"Stopped after {TIMEOUT_SECONDS:g} s; lower --limit or use the scheduled job."
        except OSError as exc:
            record.status = JanitorRun.Status.FAILURE
            record.detail = f"Could not start {config.binary}: {exc.strerror or exc}"
        else:
            record.completed, record.access_tokens_removed, record.refresh_tokens_removed = parse_output(
                done.stdout, done.stderr
            )
            if done.returncode == 0:
                record.status = JanitorRun.Status.SUCCESS
            else:
                record.status = JanitorRun.Status.FAILURE
                record.detail = _scrub(done.stderr or done.stdout, dsn) or f"exit status {done.returncode}"
        record.finished_at = timezone.now()
        record.save()
        if record.status != JanitorRun.Status.SUCCESS:
            raise RunFailed(record)
        event.success(after=summary(record))
    return record


def summary(record: JanitorRun) -> dict[str, Any]:
    return {
        "id": record.pk,
        "status": record.status,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "duration_seconds": record.duration_seconds,
        "actor": record.actor,
        "options": record.options,
        "completed": record.completed,
        "access_tokens_removed": record.access_tokens_removed,
        "refresh_tokens_removed": record.refresh_tokens_removed,
        "detail": record.detail,
    }
