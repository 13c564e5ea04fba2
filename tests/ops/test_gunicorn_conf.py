"""gunicorn.conf.py: prometheus-client's multiprocess folder (made or emptied at start, removed when it made it),
dead workers' bookkeeping, no access log of its own, JSON lines for gunicorn's own log with LOG_FORMAT=json."""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.fixtures.second_process import ROOT


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("PROMETHEUS_MULTIPROC_DIR", "TRUSS_METRICS_DIR_MADE", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_it_makes_a_private_metrics_folder_and_removes_it_at_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load(monkeypatch)
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert folder.is_dir() and folder.name.startswith("truss-metrics-")
    conf["on_starting"](None)
    conf["on_exit"](None)
    assert not folder.exists()


def test_it_empties_a_given_metrics_folder_at_start_and_keeps_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"an earlier run's counts")
    (tmp_path / "histogram_123.db").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not ours")
    conf = load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    conf["on_starting"](None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    conf["on_exit"](None)
    assert tmp_path.is_dir()  # the operator's folder stays


def test_it_drops_a_dead_workers_live_gauges(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")
    conf = load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    conf["child_exit"](None, SimpleNamespace(pid=4242))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_4242.db"]  # counts never go back


def test_it_leaves_the_request_log_to_truss(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    plain = load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    assert plain["accesslog"] is None and "logconfig_dict" not in plain
    json_conf = load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path), LOG_FORMAT="json")
    formatters = json_conf["logconfig_dict"]["formatters"]
    assert formatters == {"json": {"()": "truss.logs.JsonFormatter"}}
    assert {h["formatter"] for h in json_conf["logconfig_dict"]["handlers"].values()} == {"json"}
