from __future__ import annotations

from django.conf import settings

from truss.devstack import versions

pytest_plugins = ["tests.fixtures.ory", "tests.fixtures.tenants", "tests.fixtures.browser"]


def pytest_report_header() -> list[str]:
    v = versions()
    return [
        f"truss: database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; "
        f"Hydra {v['HYDRA_VERSION']}, Kratos {v['KRATOS_VERSION']}"
    ]
