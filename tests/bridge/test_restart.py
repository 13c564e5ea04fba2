"""Sign-ins that outlive Hydra's login/consent request: the bridge restarts the authorization request once.

This module runs against its own Hydra whose ``ttl.login_consent_request`` is a few seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory

from bridge.flows import common
from tests.bridge.oauth import query
from tests.fixtures.ory import TRUSS_TEST_ADDRESS
from truss import metrics
from truss.devstack import Stack, StackError, free_port
from truss.models import AuditEvent
from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TTL = 3  # seconds: Hydra's lifetime of a login/consent request in this module


@dataclass
class ShortLivedStack(Stack):
    def _render(self, name: str) -> Path:
        out = super()._render(name)
        if name == "hydra.yml":
            out.write_text(out.read_text() + f"\nttl:\n  login_consent_request: {TTL}s\n")
        return out


@pytest.fixture(scope="module")
def ory_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Overrides the session's stack for this module: a private Hydra (and Kratos) with short-lived challenges."""
    ports = {key: free_port() for key in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")}
    stack = ShortLivedStack(
        state_dir=tmp_path_factory.mktemp("ory-short"),
        ports=ports,
        truss_url=f"http://{TRUSS_TEST_ADDRESS}",
        persistent=True,
    )
    try:
        stack.start(timeout=60)
    except StackError as exc:
        stack.stop()
        pytest.fail(f"Could not start the short-lived Hydra: {exc}", pytrace=False)
    yield stack
    stack.stop()


def outlive_the_challenge() -> None:
    time.sleep(TTL + 1.5)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_it_finishes_a_sign_in_that_outlived_the_login_challenge(
    browser_for, make_app, make_identity, live_bridge, caplog
):
    person = make_identity()
    app = make_app()
    browser = browser_for()
    restarted_before = metrics.BRIDGE_STEPS.labels("login", "restarted")._value.get()

    auth, login_page = browser.authorize(app["client_id"])
    assert "/auth/login?flow=" in login_page.url
    outlive_the_challenge()  # the person takes their time on the Kratos login page
    consent_page = browser.sign_in(login_page, person["email"], person["password"])

    assert consent_page.status_code == 200, (consent_page.status_code, consent_page.url, browser.history)
    assert "/api/hydra/bridge/consent" in consent_page.url
    # The bridge sent the browser back to the app's own authorization request at Hydra (state, PKCE inside).
    restarts = [u for u in browser.history if u.startswith(f"{live_bridge.hydra_public_url}/oauth2/auth?")]
    assert restarts
    assert query(restarts[-1])["state"] == auth.state and query(restarts[-1])["code_challenge"]
    result = browser.callback(browser.answer_consent(consent_page))
    assert result["state"] == auth.state
    tokens = browser.tokens(app["client_id"], result["code"], auth)  # PKCE verified by Hydra
    assert tokens["access_token"] and tokens["id_token"]

    restarts = events("bridge.login.restart")
    assert len(restarts) == 1
    assert restarts[0].outcome == AuditEvent.Outcome.SUCCESS
    assert restarts[0].actor == f"identity:{person['id']}"
    assert restarts[0].target == app["client_id"]
    assert metrics.BRIDGE_STEPS.labels("login", "restarted")._value.get() == restarted_before + 1
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert not any("Bad Gateway" in r.getMessage() for r in caplog.records)


def test_it_heals_a_consent_screen_left_open_too_long(browser_for, make_app, make_identity, live_bridge):
    person = make_identity()
    app = make_app()
    browser = browser_for()
    auth, login_page = browser.authorize(app["client_id"])
    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    assert consent_page.status_code == 200

    outlive_the_challenge()
    again = browser.answer_consent(consent_page)

    # Restarted at Hydra: the login is remembered, the consent screen shows again for a fresh challenge.
    assert again.status_code == 200 and "/api/hydra/bridge/consent" in again.url, (
        again.status_code,
        again.url,
    )
    result = browser.callback(browser.answer_consent(again))
    assert result["state"] == auth.state
    assert browser.tokens(app["client_id"], result["code"], auth)["access_token"]
    assert [e.outcome for e in events("bridge.consent.restart")] == [AuditEvent.Outcome.SUCCESS]


def test_it_asks_to_start_again_when_the_challenge_expires_a_second_time(
    browser_for, make_app, make_identity, live_bridge
):
    person = make_identity()
    app = make_app(client_name="Holiday Planner")
    browser = browser_for()
    _, login_page = browser.authorize(app["client_id"])
    outlive_the_challenge()
    consent_page = browser.sign_in(login_page, person["email"], person["password"])  # first restart
    assert consent_page.status_code == 200

    outlive_the_challenge()
    page = browser.answer_consent(consent_page)  # expired again in the same flow

    assert page.status_code == 410
    assert "Please start again" in page.text and "Holiday Planner" in page.text
    assert "Sign-in problem" not in page.text
    assert [e.outcome for e in events("bridge.login.restart")] == [AuditEvent.Outcome.SUCCESS]
    assert [e.outcome for e in events("bridge.consent.restart")] == [AuditEvent.Outcome.FAILURE]


def test_it_asks_to_start_again_in_german_when_nothing_was_recorded(
    browser_for, make_app, make_identity, live_bridge
):
    person = make_identity()
    app = make_app()
    browser = browser_for("de")
    _, login_page = browser.authorize(app["client_id"])
    cache.clear()  # another instance saw the challenge, or the cache was lost
    outlive_the_challenge()
    page = browser.sign_in(login_page, person["email"], person["password"])

    assert page.status_code == 410, (page.status_code, page.url)
    assert "Bitte beginnen Sie erneut" in page.text
    assert not events("bridge.login.restart")


# --- Where a restart may go ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/oauth2/auth?client_id=a",
        "http://127.0.0.1:1/oauth2/auth?client_id=a",
        "{hydra}/oauth2/token?client_id=a",
        "{hydra}/oauth2/auth/../../x?client_id=a",
        "{hydra}/oauth2/auth",
        "{hydra}/oauth2/auth?client_id=a#x",
        "{hydra}.evil.example/oauth2/auth?client_id=a",
        "",
    ],
)
def test_it_restarts_only_at_hydras_own_authorization_endpoint(url, settings, db):
    settings.HYDRA_PUBLIC_URL = "http://127.0.0.1:4444"
    url = url.format(hydra=settings.HYDRA_PUBLIC_URL)
    assert not common.is_authorization_url(url)
    common.remember_request_url("challenge-x", url)
    request = RequestFactory().get("/api/hydra/bridge/login")
    result = common.restart_expired(request, "challenge-x", "bridge.login.restart")
    assert isinstance(result, common.Stop) and result.reason == "start_again"
    assert common.is_authorization_url(f"{settings.HYDRA_PUBLIC_URL}/oauth2/auth?client_id=a&state=s")


def test_it_tells_an_expired_challenge_from_other_refusals():
    assert common.challenge_expired(hydra.HydraUnauthorized(401, "request_unauthorized"))
    assert not common.challenge_expired(hydra.HydraUnauthorized(401, "unauthorized"))
    assert not common.challenge_expired(hydra.HydraGone(410, "request_forbidden"))


def test_it_restarts_once_when_two_tabs_come_back_at_the_same_time(settings, rsps):
    settings.HYDRA_PUBLIC_URL = "http://127.0.0.1:4444"
    rsps.add(rsps.GET, f"{settings.HYDRA_ADMIN_URL}/admin/clients/app-1", status=404)
    url = f"{settings.HYDRA_PUBLIC_URL}/oauth2/auth?client_id=app-1&state=s&code_challenge=c"
    common.remember_request_url("challenge-y", url)

    def restart(_: int) -> common.Redirect | common.Stop:
        request = RequestFactory().get("/api/hydra/bridge/login")
        try:
            return common.restart_expired(request, "challenge-y", "bridge.login.restart")
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(restart, range(4)))

    assert [r.url for r in results if isinstance(r, common.Redirect)] == [url]
    assert sum(isinstance(r, common.Stop) and r.reason == "start_again" for r in results) == 3
    assert sorted(e.outcome for e in events("bridge.login.restart")) == sorted(
        [AuditEvent.Outcome.SUCCESS] + [AuditEvent.Outcome.FAILURE] * 3
    )
