"""Every console page in Debian's Chromium: each menu target and each section of a client's home, scanned by
axe-core (no serious or critical violation) as a platform admin would see them, with no CSP violation on the
way (the browser's securitypolicyviolation events and its console both listened to)."""

from __future__ import annotations

from pprint import pformat
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from oauth2_admin.clients import service as clients
from tests.hygiene.conftest import CLEAN, CLEAN_TOKENS
from truss.context_processors import NAV_SECTIONS

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLIENT_SECTIONS = ("detail", "credentials", "security", "history", "people", "quickstart")
# Records each violation the page reports, before any of the page's scripts run.
CSP_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def serious(page: Any) -> list[tuple[str, str, int, list[Any]]]:
    """axe-core's serious and critical violations on the page as it is now: rule, impact, how many elements
    and the first few of them."""
    violations = Axe().run(page).response["violations"]
    return [
        (v["id"], v["impact"], len(v["nodes"]), [n["target"] for n in v["nodes"][:3]])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def test_it_finds_no_serious_accessibility_violation_and_no_csp_violation_on_any_console_page(
    page, ory, signed_in_as, make_operator, tenant, live_server
):
    client, _ = clients.create_for(None, tenant, {"client_name": "Demo web app", **CLEAN})
    clients.set_token_config(None, tenant, client.client_id, CLEAN_TOKENS)
    admin = make_operator(tenant, "admin", username="ada")
    admin.is_superuser = admin.is_staff = True  # a platform admin: every page and action is offered
    admin.save()
    console_csp: list[str] = []
    page.on("console", lambda m: console_csp.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(CSP_LISTENER)
    signed_in_as(admin, start="/console/")

    urls = [reverse(name) for _, pages in NAV_SECTIONS for name, _, _ in pages]
    urls += [reverse(f"console:clients:{s}", args=[client.client_id]) for s in CLIENT_SECTIONS]
    found: dict[str, Any] = {}
    for url in urls:
        response = page.goto(f"{live_server.url}{url}")
        assert response is not None and response.status == 200, url
        page.wait_for_load_state("networkidle")  # lazy fragments (hx-trigger="load") are in the scan
        if bad := serious(page):
            found[url] = bad
        if csp := page.evaluate("window.__csp"):
            found[f"{url} (CSP)"] = csp
    assert len(urls) == sum(len(pages) for _, pages in NAV_SECTIONS) + len(CLIENT_SECTIONS)
    assert found == {}, pformat(found)
    assert console_csp == []
