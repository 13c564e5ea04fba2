"""The login hop's pass to the consent hop: honoured only for the same flow, subject, browser and minute."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from django.core import signing
from django.test import RequestFactory

from bridge.flows import login_pass
from truss.ory import kratos


@pytest.fixture(autouse=True)
def shared_cache(settings):
    settings.SHARED_CACHE = True  # LocMem in this one process is as shared as it gets


FLOW = login_pass.flow_key("http://hydra.test/oauth2/auth?client_id=app&state=s1", "login-session-1")


def _session(identity_id: str = "9f2c0f7e-0000-4000-8000-000000000001") -> kratos.Session:
    return kratos.Session.model_validate(
        {
            "id": "sess-1",
            "active": True,
            "authenticated_at": datetime.now(UTC).isoformat(),
            "identity": {"id": identity_id, "schema_id": "default", "traits": {"email": "ada@example.test"}},
        }
    )


def _request(cookie: str | None) -> object:
    request = RequestFactory().get("/api/hydra/bridge/consent")
    if cookie is not None:
        request.COOKIES[login_pass.LOGIN_PASS_COOKIE] = cookie
    return request


def test_it_hands_the_confirmed_session_to_the_consent_hop_of_the_same_flow_and_subject():
    session = _session()
    request = _request(login_pass.login_pass(FLOW, session))
    assert login_pass.has_login_pass(request)
    found = login_pass.session_from_login_pass(request, FLOW, session.identity.id)
    assert found is not None and found.identity.id == session.identity.id and found.id == "sess-1"


@pytest.mark.parametrize(
    ("flow", "subject"),
    [
        (
            login_pass.flow_key("http://hydra.test/oauth2/auth?client_id=app&state=s2", "login-session-1"),
            None,
        ),
        (
            login_pass.flow_key("http://hydra.test/oauth2/auth?client_id=app&state=s1", "login-session-2"),
            None,
        ),
        (FLOW, "9f2c0f7e-0000-4000-8000-00000000beef"),
    ],
)
def test_it_ignores_a_pass_for_another_flow_or_another_person(flow, subject):
    session = _session()
    request = _request(login_pass.login_pass(FLOW, session))
    assert login_pass.session_from_login_pass(request, flow, subject or session.identity.id) is None


def test_it_ignores_a_forged_tampered_or_missing_pass():
    session = _session()
    genuine = login_pass.login_pass(FLOW, session)
    key = signing.loads(genuine, salt="truss.bridge.login-pass")[0]
    forged = signing.dumps([key, "x", session.identity.id], salt="another-salt", compress=False)
    for cookie in (None, "", genuine[:-2] + "xx", forged, "a" * 1000):
        request = _request(cookie)
        assert not login_pass.has_login_pass(request)
        assert login_pass.session_from_login_pass(request, FLOW, session.identity.id) is None


def test_it_ignores_a_pass_older_than_a_minute(monkeypatch):
    session = _session()
    cookie = login_pass.login_pass(FLOW, session)
    later = time.time() + login_pass.LOGIN_PASS_MAX_AGE + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert login_pass.session_from_login_pass(_request(cookie), FLOW, session.identity.id) is None


def test_it_ignores_a_pass_whose_session_the_cache_no_longer_has():
    from django.core.cache import cache

    session = _session()
    cookie = login_pass.login_pass(FLOW, session)
    cache.clear()  # e.g. another worker with its own per-process cache
    assert login_pass.has_login_pass(_request(cookie))
    assert login_pass.session_from_login_pass(_request(cookie), FLOW, session.identity.id) is None


def test_it_hands_a_pass_on_only_once():
    session = _session()
    cookie = login_pass.login_pass(FLOW, session)
    assert login_pass.session_from_login_pass(_request(cookie), FLOW, session.identity.id) is not None
    assert (
        login_pass.session_from_login_pass(_request(cookie), FLOW, session.identity.id) is None
    )  # a reload asks Kratos


def test_it_issues_no_pass_without_a_shared_cache(settings):
    settings.SHARED_CACHE = False  # another worker could not read it: the consent hop would only wait longer
    session = _session()
    assert login_pass.login_pass(FLOW, session) == ""
    settings.SHARED_CACHE = True
    cookie = login_pass.login_pass(FLOW, session)
    settings.SHARED_CACHE = False
    assert not login_pass.has_login_pass(_request(cookie))
