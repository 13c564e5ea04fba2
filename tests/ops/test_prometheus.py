"""A real Prometheus (Debian's `prometheus`) scrapes Truss served the production way (gunicorn.conf.py: several
worker processes, prometheus-client's multiprocess mode, JSON logs) after people sign in through the bridge;
PromQL over its HTTP API finds the flows' counters, added up across the workers that served them."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings

from tests.bridge.oauth import Browser
from tests.clients.test_concurrency import Truss
from tests.fixtures.ory import TRUSS_TEST_ADDRESS
from tests.fixtures.second_process import child_env
from truss.devstack import Stack, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("prometheus") is None, reason="needs Debian's prometheus (scripts/setup.sh)"
    ),
]

TOKEN = "scrape-token-for-the-test-0123456789"
# Sign-ins per round, one after the other (the test stack's Hydra on SQLite refuses concurrent writes with
# "database is locked"); every hop on a new connection, so gunicorn's 3 workers share them.
FLOWS = 4
PUBLIC = f"http://{TRUSS_TEST_ADDRESS}"  # where Hydra and Kratos send browsers (the test stack's Truss URL)


class Prometheus:
    """prometheus on a free port with a generated config scraping one target every second, with a bearer token."""

    def __init__(self, target: str, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "prometheus.log"
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: truss\n    metrics_path: /metrics\n"
            f"    authorization:\n      type: Bearer\n      credentials: {TOKEN}\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={config}",
                    f"--storage.tsdb.path={workdir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait(lambda: requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200, "ready")

    def query(self, promql: str) -> float | None:
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5).json()
        assert answer["status"] == "success", answer
        result = answer["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def wait_for(self, promql: str, expected: float, timeout: float = 15) -> None:
        self.wait(
            lambda: self.query(promql) == expected,
            f"{promql} == {expected} (last: {self.query(promql)})",
            timeout,
        )

    def wait(self, check: Callable[[], bool], what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus: not {what} after {timeout} s\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class ViaGunicorn(Browser):
    """A browser whose hops to Truss's public address (what Hydra and Kratos were configured with) reach the
    gunicorn Truss instead: a reverse proxy in one line."""

    def __init__(self, ory: Stack, truss_url: str) -> None:
        super().__init__(ory)
        self.truss_url = truss_url
        self.session.headers["Connection"] = "close"  # each hop is accepted by whichever worker is free

    def _to(self, url: str) -> str:
        return self.truss_url + url[len(PUBLIC) :] if url.startswith(PUBLIC) else url

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return super().get(self._to(url), **kwargs)

    def post(self, url: str, data: dict[str, Any], **kwargs: Any) -> requests.Response:
        return super().post(self._to(url), data, **kwargs)


@pytest.fixture
def served(ory: Stack, tmp_path: Path) -> Iterator[Truss]:
    """Truss under gunicorn (3 workers) on its own SQLite file, metrics on, JSON logs, its multiprocess folder
    holding a leftover of an earlier run (which the start must clear)."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left over from an earlier run")
    env = child_env(
        **ory.env(),
        DJANGO_SETTINGS_MODULE="truss.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'truss.sqlite3'}",
        SECRET_KEY=django_settings.SECRET_KEY,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",  # no collectstatic
        TRUSS_PUBLIC_URL=PUBLIC,
        METRICS_TOKEN=TOKEN,
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    server = Truss(env, tmp_path)
    server.manage("migrate", "--noinput")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sign_in(ory: Stack, truss: Truss, client_id: str, person: dict[str, Any]) -> None:
    browser = ViaGunicorn(ory, truss.url)
    _auth, login_page = browser.authorize(client_id)
    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    assert consent_page.status_code == 200 and "/api/hydra/bridge/consent" in consent_page.url, (
        consent_page.url
    )
    assert "code" in browser.callback(browser.answer_consent(consent_page))


def log_records(truss: Truss) -> list[dict[str, Any]]:
    return [json.loads(line) for line in truss.log.read_text().splitlines() if line.strip()]


def test_it_is_scraped_by_prometheus_and_adds_up_across_workers(
    ory: Stack,
    served: Truss,
    tmp_path: Path,
    make_app: Callable[..., dict[str, Any]],
    make_identity: Callable[..., dict[str, Any]],
) -> None:
    assert not (tmp_path / "metrics" / "counter_999999.db").exists()  # cleared on start
    prometheus = Prometheus(f"127.0.0.1:{served.port}", tmp_path)
    try:
        prometheus.wait_for('up{job="truss"}', 1)  # the bearer token got it in
        app, person = make_app(), make_identity()

        # Sign in until more than one worker has served the bridge (the kernel picks who accepts; rarely one
        # worker takes everything), counting every flow.
        flows, workers = 0, set()
        for _round in range(3):
            for _ in range(FLOWS):
                sign_in(ory, served, app["client_id"], person)
            flows += FLOWS
            bridge_lines = [r for r in log_records(served) if str(r.get("route", "")).startswith("bridge:")]
            workers = {r["pid"] for r in bridge_lines}
            if len(workers) > 1:
                break
        assert len(workers) > 1, "one gunicorn worker served every flow three rounds in a row"

        # Each flow: one login accepted and one consent accepted, whichever worker chained the events.
        prometheus.wait_for('sum(truss_bridge_steps_total{kind="login",outcome="accepted"})', flows)
        prometheus.wait_for('sum(truss_bridge_steps_total{kind="consent",outcome="accepted"})', flows)
        prometheus.wait_for(
            'sum(truss_upstream_requests_total{service="Hydra",operation="accept_login_request",status="200"})',
            flows,
        )
        # Two login hops per flow (to Kratos, then back to accept) and the consent screen and its answer.
        prometheus.wait_for('sum(truss_http_request_own_seconds_count{route="bridge:login"})', 2 * flows)
        prometheus.wait_for(
            'sum(truss_http_request_upstream_seconds_count{route="bridge:consent"})', 2 * flows
        )
        assert (
            prometheus.query('sum(truss_http_requests_total{route="bridge:login",status="302"})') == 2 * flows
        )
        assert prometheus.query("truss_audit_outbox_events") == 0
        failed = prometheus.query('sum(truss_bridge_steps_total{outcome=~"failed|denied"})')
        assert failed in (None, 0)

        # Every worker answers a scrape with the same sums: the files of all of them.
        for _ in range(6):
            text = requests.get(
                f"{served.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
            ).text
            line = next(x for x in text.splitlines() if x.startswith('truss_bridge_steps_total{kind="login"'))
            assert line.endswith(f" {float(flows)}"), line
            # No person, client, challenge or path in any label.
            assert person["id"] not in text and app["client_id"] not in text and "challenge" not in text
        assert len(list((tmp_path / "metrics").glob("counter_*.db"))) > 1
        (tmp_path / "scrape.txt").write_text(text)  # kept with the test's files, for a look at a real scrape
    finally:
        prometheus.stop()

    # JSON logs: every line of gunicorn's and Truss's is one object; the request ids went to Hydra and Kratos.
    records = log_records(served)
    accepts = [r for r in records if r.get("route") == "bridge:login" and r.get("status") == 302]
    assert accepts and all(len(r["request_id"]) == 32 for r in accepts)
    hydra_log = (ory.state_dir / "hydra.log").read_text()
    kratos_log = (ory.state_dir / "kratos.log").read_text()
    for record in accepts:  # each login hop asked Hydra for the login request, with the hop's id
        assert f"x-request-id:{record['request_id']}" in hydra_log
    consent_posts = [r for r in records if r.get("route") == "bridge:consent" and r.get("method") == "POST"]
    assert any(f"x-request-id:{r['request_id']}" in kratos_log for r in consent_posts)  # whoami on the answer
