from __future__ import annotations

# The preview test signs a person in through the real bridge: the bridge tests' fixtures do that.
from tests.bridge.conftest import browser_for, live_bridge, make_app  # noqa: F401
