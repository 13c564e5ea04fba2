"""A page's client GETs (truss/names.py) overlap, LOOKUPS_AT_ONCE at a time: every id still gets its own answer,
and once Hydra is found unavailable the GETs not sent yet are not sent (the ids keep their raw form)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from oauth2_admin.clients import service as clients
from tests.fixtures.ory import client_gets
from truss import names
from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_it_answers_every_id_with_its_own_name_while_the_gets_overlap(ory, tenant, ory_sent, monkeypatch):
    mine = {
        clients.create_for(None, tenant, {"client_name": f"App {i}", "grant_types": ["client_credentials"]})[
            0
        ].client_id: f"App {i}"
        for i in range(12)
    }
    real, busy, peak, lock = hydra.get_client, [0], [0], threading.Lock()

    def slow_get(client_id: str, **kwargs: Any) -> hydra.OAuth2Client:
        with lock:
            busy[0] += 1
            peak[0] = max(peak[0], busy[0])
        time.sleep(0.05)
        try:
            return real(client_id, **kwargs)
        finally:
            with lock:
                busy[0] -= 1

    monkeypatch.setattr(hydra, "get_client", slow_get)
    ory_sent.clear()
    found, gone = names.client_lookup(tenant, [*sorted(mine), "no-such-client"])
    assert found == mine and gone == {"no-such-client"}
    assert len(client_gets(ory_sent)) == 13 and 1 < peak[0] <= names.LOOKUPS_AT_ONCE


def test_it_sends_no_more_gets_once_hydra_is_found_unavailable(tenant, hydra_down, ory_sent):
    ids = [f"client-{i:02}" for i in range(40)]
    assert names.client_lookup(tenant, ids) == ({}, set())
    assert len(client_gets(ory_sent)) <= names.LOOKUPS_AT_ONCE
