from __future__ import annotations

import functools

import pytest
from django.conf import settings

from truss.devstack import DEVICE_FLOW_SINCE, StackError, binary_version, version_tuple, versions

pytest_plugins = ["tests.fixtures.ory", "tests.fixtures.tenants", "tests.fixtures.browser"]


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
