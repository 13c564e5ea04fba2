"""bench/scale.py's generator and writer at tiny scale: no database, no Hydra."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from bench import results
from bench.scale import SCALE_END, SCALE_START, write_section
from bench.scale_data import DATASETS, Dataset, _json, canonical
from truss.audit import compute_hash
from truss.models import AuditEvent

AT = dt.datetime(2026, 11, 7, 10, 0, 0, 123456, tzinfo=dt.UTC)


def _both(*, after: Any, ip: str | None, **fields: str) -> tuple[str, str]:
    row = {
        "actor": "identity:abc",
        "action": "bridge.login.accept",
        "target": "client-1",
        "outcome": "success",
    }
    row |= fields
    fast = hashlib.sha256(
        canonical(
            tenant=3,
            created_at=AT.isoformat(),
            ip=ip,
            after_json=_json(after),
            detail="",
            prev_hash="0" * 64,
            chain="tenant:3",
            **row,
        )
    ).hexdigest()
    event = AuditEvent(
        tenant_id=3,
        created_at=AT,
        request_id="",
        ip=ip,
        before=None,
        after=after,
        detail="",
        prev_hash="0" * 64,
        chain="tenant:3",
        **row,
    )
    return fast, compute_hash(event)


def test_it_hashes_generated_events_as_the_audit_log_does() -> None:
    for after, ip in (
        ({"acr": "aal1", "amr": [{"method": "password"}], "remember_for": 2592000}, "203.0.113.7"),
        ({"decision": "remembered", "grant_scope": ["openid"], "remember_for": None}, None),
        (None, "10.0.0.1"),
        (
            {"client_name": "app 000001", "redirect_uris": ["https://a.example.com/cb"], "jwks": {}},
            "10.0.0.1",
        ),
    ):
        fast, model = _both(after=after, ip=ip)
        assert fast == model, after
    fast, model = _both(after={"n": 1}, ip=None, action="consent.revoke", actor="user:op1", outcome="denied")
    assert fast == model


def test_it_sizes_the_other_tenants_to_fill_hydra() -> None:
    assert DATASETS["full"].others == 9
    assert DATASETS["full"].clients * (DATASETS["full"].others + 1) == DATASETS["full"].hydra_clients
    assert DATASETS["small"].others == 0
    assert Dataset("x", 10, 25, 1, 1).others == 2


def test_it_keeps_make_benchs_run_and_earlier_scale_runs_when_writing(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    latest = "## Latest run: 2026-12-07, 5 interleaved rounds\n\n| a | b |\n"
    path.write_text(
        f"{results.HEADER}{results.LATEST_START}\n{latest}{results.LATEST_END}\n\n## Previous measurements\n\n"
        f"{results.PREVIOUS_START}\n\n## Run: older\n"
    )
    table = results.Table("Pages", ("1k", "full"))
    table.add("page: overview", [10.0, 12.0], [11.0, 13.0])
    write_section("first", ["- before"], [table], path)
    write_section("second", ["- after"], [table], path)
    text = path.read_text()
    assert text.count(SCALE_START) == 1 and text.count(SCALE_END) == 1
    assert latest in text and "## Run: older" in text  # make bench's sections as they were
    assert text.index("### Latest scale run: second") < text.index("### Earlier scale runs")
    assert text.index("### Earlier scale runs") < text.index("#### Scale run: first") < text.index(SCALE_END)
    assert "##### Pages" in text and "| page: overview | 11 (10–12) | 12 (11–13) |" in text
    results.write("next bench", ["- x"], [], path)  # a later `make bench` keeps the Scale section
    text = path.read_text()
    assert text.count(SCALE_START) == 1 and "#### Scale run: first" in text
