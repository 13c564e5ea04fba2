from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.signals import request_finished, request_started

from truss.devstack import DEVICE_FLOW_SINCE, StackError, binary_version, version_tuple, versions

pytest_plugins = [
    "tests.fixtures.ory",
    "tests.fixtures.tenants",
    "tests.fixtures.browser",
    "tests.fixtures.bridge",
    "tests.fixtures.second_process",
]


@functools.cache
def running_versions() -> dict[str, str]:
    """The versions of the binaries the test stack runs: the pinned build, or HYDRA_BIN / KRATOS_BIN."""
    out = {}
    for name in ("hydra", "kratos"):
        try:
            out[name] = binary_version(name)
        except StackError:
            out[name] = "not built"
    return out


def hydra_has_device_flow() -> bool:
    return version_tuple(running_versions()["hydra"]) >= DEVICE_FLOW_SINCE


def pytest_report_header() -> list[str]:
    pinned, running = versions(), running_versions()
    return [
        f"truss: database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; "
        f"Hydra {running['hydra']} (pinned {pinned['HYDRA_VERSION']}), "
        f"Kratos {running['kratos']} (pinned {pinned['KRATOS_VERSION']})"
    ]


class _InFlight:
    """Requests still being handled by any thread, up to the end of their request_finished receivers (the audit
    drain runs there, after the client already has the answer)."""

    def __init__(self) -> None:
        self._threads: set[threading.Thread] = set()
        self._changed = threading.Condition()

    def connect(self) -> None:
        import truss.audit  # noqa: F401  (its drain receiver first: receivers run in the order connected)

        request_started.connect(self.started, dispatch_uid="tests.in_flight.started")
        request_finished.connect(self.finished, dispatch_uid="tests.in_flight.finished")

    def started(self, **kwargs: Any) -> None:
        with self._changed:
            self._threads.add(threading.current_thread())

    def finished(self, **kwargs: Any) -> None:
        with self._changed:
            self._threads.discard(threading.current_thread())
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no other thread is inside a request. The test's own thread is left out: its requests (the
        test client's) are over when the test is, and one it never finished (an unread streaming answer) would
        otherwise be waited for in vain."""
        me = threading.current_thread()

        def idle() -> bool:
            self._threads = {t for t in self._threads if t.is_alive() and t is not me}
            return not self._threads

        with self._changed:
            return self._changed.wait_for(idle, timeout)


_in_flight = _InFlight()


@pytest.fixture(autouse=True)
def _live_server_quiet(_live_server_helper: None) -> Iterator[None]:
    """A live-server test ends when its client has the last answer, but that request's thread may still be
    writing (the audit drain after the response): wait for it, or the database flush that follows deadlocks
    with it on PostgreSQL. Set up after pytest-django's helper, so torn down before its flush."""
    _in_flight.connect()  # once (dispatch_uid); after truss.audit's drain receiver, so it is waited for too
    yield
    if not _in_flight.wait_idle(timeout=30):
        pytest.fail("a live-server request was still running 30 s after the test ended")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`device_flow` tests need Hydra >= v25.4; `no_device_flow` tests check how an older Hydra is refused."""
    has_device = None
    for item in items:
        wants = item.get_closest_marker("device_flow")
        refuses = item.get_closest_marker("no_device_flow")
        if not (wants or refuses):
            continue
        if has_device is None:
            has_device = hydra_has_device_flow()
        hydra = running_versions()["hydra"]
        if wants and not has_device:
            item.add_marker(pytest.mark.skip(reason=f"needs Hydra >= v25.4 (running {hydra}): set HYDRA_BIN"))
        if refuses and has_device:
            item.add_marker(
                pytest.mark.skip(reason=f"checks a Hydra without the device flow (running {hydra})")
            )
