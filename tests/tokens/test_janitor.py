"""Cleanup with the real `hydra janitor` against the test stack's SQLite file (platform admins only)."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
import requests

from oauth2_admin.tokens import janitor
from oauth2_admin.tokens.models import JanitorRun
from tests.tokens.conftest import cc_token, introspect_at_hydra
from truss.devstack import binary
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def configured(ory, settings):
    settings.HYDRA_JANITOR_DSN = ory._dsn("hydra")
    settings.HYDRA_BIN = str(binary("hydra"))
    return ory


@pytest.fixture
def platform_admin(console, make_operator, tenant):
    admin = console("admin")
    from django.contrib.auth.models import User

    User.objects.filter(memberships__tenant=tenant).update(is_superuser=True)
    return admin


def rows(ory, client_id):
    with sqlite3.connect(ory.state_dir / "hydra.sqlite") as db:
        return db.execute(
            "SELECT COUNT(*) FROM hydra_oauth2_access WHERE client_id = ?", (client_id,)
        ).fetchone()[0]


def flush(call, as_client, **options):
    return call("/api/hydra/flush", options, as_client=as_client)


def test_it_removes_expired_tokens_and_keeps_live_ones(configured, call, platform_admin, cc_client):
    ory = configured
    short = cc_client()
    requests.put(
        f"{ory.hydra_admin_url}/admin/clients/{short['client_id']}/lifespans",
        json={"client_credentials_grant_access_token_lifespan": "1s"},
        timeout=10,
    ).raise_for_status()
    expired = [cc_token(ory, short) for _ in range(2)]
    time.sleep(3.5)
    live_client = cc_client()
    live = cc_token(ory, live_client)
    assert [introspect_at_hydra(ory, t)["active"] for t in expired] == [False, False]
    assert rows(ory, short["client_id"]) == 2

    response = flush(call, platform_admin, tokens=True, requests=False, access_lifespan="3s")
    assert response.status_code == 200, response.content
    run = response.json()
    assert run["status"] == "success"
    assert run["access_tokens_removed"] >= 2 and run["refresh_tokens_removed"] == 0
    assert run["completed"] == ["access tokens", "refresh tokens"]
    assert rows(ory, short["client_id"]) == 0
    assert rows(ory, live_client["client_id"]) == 1
    assert introspect_at_hydra(ory, live)["active"] is True
    event = AuditEvent.objects.get(action="oauth2.tokens.flush")
    assert event.outcome == "success" and event.after["access_tokens_removed"] == run["access_tokens_removed"]
    assert ory._dsn("hydra") not in json.dumps([event.after, event.detail])


def test_it_keeps_everything_younger_than_keep_if_younger(configured, call, platform_admin, cc_client):
    ory = configured
    short = cc_client()
    cc_token(ory, short)
    time.sleep(1.5)
    response = flush(call, platform_admin, tokens=True, access_lifespan="1s", keep_if_younger="1h")
    assert response.status_code == 200, response.content
    assert response.json()["access_tokens_removed"] == 0
    assert rows(ory, short["client_id"]) == 1


def test_it_never_runs_twice_at_once(configured, call, platform_admin):
    from django.utils import timezone

    JanitorRun.objects.create(started_at=timezone.now(), actor="user:someone-else", options={})
    response = flush(call, platform_admin)
    assert response.status_code == 409 and response.json()["error"] == "busy"
    assert AuditEvent.objects.get(action="oauth2.tokens.flush").outcome == "failure"
    assert JanitorRun.objects.count() == 1


def test_it_takes_over_a_lock_whose_process_died(configured, call, platform_admin):
    from django.utils import timezone

    stale = JanitorRun.objects.create(
        started_at=timezone.now() - janitor.STALE_AFTER * 2, actor="x", options={}
    )
    assert flush(call, platform_admin, tokens=True).status_code == 200
    stale.refresh_from_db()
    assert stale.status == "abandoned"


def test_it_stops_a_run_that_takes_too_long(configured, call, platform_admin, monkeypatch):
    monkeypatch.setattr(janitor, "TIMEOUT_SECONDS", 0.001)
    response = flush(call, platform_admin, tokens=True)
    assert response.status_code == 504 and response.json()["error"] == "janitor_timeout"
    assert JanitorRun.objects.get().status == "timeout"
    assert AuditEvent.objects.get(action="oauth2.tokens.flush").outcome == "failure"


def test_it_reports_a_janitor_failure_without_the_dsn(ory, settings, call, platform_admin, tmp_path):
    # A stand-in that fails the way a janitor that cannot reach its database does (the real one retries
    # for longer than the timeout): it prints the DSN it was given.
    fake = tmp_path / "hydra"
    fake.write_text('#!/bin/sh\necho "level=error msg=could not connect to $DSN" >&2\nexit 1\n')
    fake.chmod(0o755)
    settings.HYDRA_BIN = str(fake)
    settings.HYDRA_JANITOR_DSN = "postgres://hydra:hunter2@db.internal:5432/hydra"
    response = flush(call, platform_admin, tokens=True)
    assert response.status_code == 502 and response.json()["error"] == "janitor_failed"
    assert "hunter2" not in response.content.decode()
    assert JanitorRun.objects.get().detail == "level=error msg=could not connect to <DSN>"


def test_it_explains_what_to_run_instead_when_not_configured(ory, settings, call, platform_admin):
    settings.HYDRA_JANITOR_DSN = ""
    response = flush(call, platform_admin)
    assert response.status_code == 501 and response.json()["error"] == "not_configured"
    assert "hydra janitor" in response.json()["instead"]
    page = platform_admin.get("/console/tokens/cleanup")
    assert page.status_code == 200
    assert b"Not configured here" in page.content and b"hydra-janitor:" in page.content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"access_lifespan": "1 hour"}, "access_lifespan"),
        ({"limit": 0}, "limit"),
        ({"tokens": False, "requests": False}, "__all__"),
        ({"dsn": "x"}, "dsn"),
        # strict: no "yes" for true, no text for a number, no duration past Go's 290 years
        ({"tokens": "yes"}, "tokens"),
        ({"grants": 1}, "grants"),
        ({"limit": "10"}, "limit"),
        ({"access_lifespan": " 1h"}, "access_lifespan"),
        ({"refresh_lifespan": "9999999h"}, "refresh_lifespan"),
    ],
)
def test_it_explains_bad_options_and_runs_nothing(configured, call, platform_admin, body, field):
    response = flush(call, platform_admin, **body)
    assert response.status_code == 400 and response.json()["fields"][field]
    assert not JanitorRun.objects.exists()
    assert AuditEvent.objects.get(action="oauth2.tokens.flush").outcome == "failure"


def test_the_console_page_runs_it_and_shows_the_history(configured, platform_admin, cc_client):
    form = {
        "tokens": "on",
        "access_lifespan": "1h",
        "refresh_lifespan": "720h",
        "consent_request_lifespan": "30m",
        "keep_if_younger": "0s",
        "limit": "10000",
        "batch_size": "100",
        "confirmed": "True",
    }
    response = platform_admin.post("/console/tokens/cleanup", form)
    assert response.status_code == 200, response.content
    text = response.content.decode()
    assert "Cleanup finished" in text and "Removed" in text and 'id="janitor-history"' in text
    assert JanitorRun.objects.get().status == "success"
    bad = platform_admin.post("/console/tokens/cleanup", {**form, "access_lifespan": "soon"})
    assert bad.status_code == 400 and "Go duration" in bad.content.decode()
    assert JanitorRun.objects.count() == 1


def test_it_runs_a_batch_larger_than_the_limit_as_one_batch_of_the_limit(configured, call, platform_admin):
    response = flush(call, platform_admin, requests=False, batch_size=500, limit=100)
    assert response.status_code == 200, response.content
    flags = janitor.JanitorOptions(batch_size=500, limit=100).flags()
    assert flags[flags.index("--batch-size") + 1] == "100"  # hydra janitor refuses a batch over the limit
