"""The console client list as rendered, with Hydra's answer stubbed (no Ory stack): every value Hydra returns is
escaped, and the page's cost does not come back in the forms measured away (bench/client_list.py): rows as
template nodes, URL reversing on every request, the navigation re-rendered on every request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.template import base as template_base
from django.test import Client
from django.urls import resolvers, reverse

from oauth2_admin.clients import service
from truss.ory import hydra

pytestmark = pytest.mark.django_db

LIST = "/console/clients/"


def page_of(count: int, **fields: Any) -> hydra.ClientPage:
    items = [
        hydra.OAuth2Client.model_validate(
            {
                "client_id": f"client-{i}",
                "client_name": f"app-{i}",
                "created_at": "2026-01-02T03:04:05Z",
                "grant_types": ["authorization_code", "refresh_token"],
                **fields,
            }
        )
        for i in range(count)
    ]
    return hydra.ClientPage(items=items, next_page_token=None)


@pytest.fixture
def hydra_answers(monkeypatch: pytest.MonkeyPatch) -> Callable[[hydra.ClientPage], None]:
    def answer(page: hydra.ClientPage) -> None:
        monkeypatch.setattr(service, "list_for", lambda *args, **kwargs: page)

    return answer


def counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    calls = [0]
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


@pytest.fixture
def viewer(console: Callable[..., Client]) -> Iterator[Client]:
    yield console("viewer")


def test_it_escapes_every_value_hydra_returns(viewer, hydra_answers):
    hostile = {
        "client_id": 'x"><script>id</script>',
        "client_name": "<img src=x onerror=alert(1)>",
        "grant_types": ["<b>bold</b>"],
        "token_endpoint_auth_method": "none",
    }
    hydra_answers(page_of(1, **hostile))
    html = viewer.get(LIST).content.decode()
    assert "<script>id" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "<code>x&quot;&gt;&lt;script&gt;id&lt;/script&gt;</code>" in html
    assert ">&lt;img src=x onerror=alert(1)&gt;</a>" in html
    assert '<span class="badge grant">&lt;b&gt;bold&lt;/b&gt;</span>' in html
    detail = reverse("console:clients:detail", args=["-id-"]).replace(
        "-id-", "x%22%3E%3Cscript%3Eid%3C%2Fscript%3E"
    )
    assert f'<a href="{detail}">' in html and '<span class="badge">public</span>' in html


def test_it_shows_what_each_row_always_showed(viewer, hydra_answers):
    hydra_answers(
        page_of(2, grant_types=["urn:ietf:params:oauth:grant-type:device_code", "client_credentials"])
    )
    html = viewer.get(LIST).content.decode()
    assert html.count("<tr>") == 3  # the header and two rows
    assert (
        f'<tr><td><a href="{reverse("console:clients:detail", args=["client-1"])}">app-1</a></td>'
        '<td><code>client-1</code></td><td><span class="badge">confidential</span></td>'
        '<td><span class="badge grant">device_code</span> <span class="badge grant">client_credentials</span> </td>'
        "<td>2026-01-02 03:04</td></tr>"
    ) in html


def test_rows_are_not_rendered_as_template_nodes(viewer, hydra_answers, monkeypatch):
    """~10 template nodes a row were 60 % of the page's rendering; the rows are one precomputed value now."""
    renders = counting(monkeypatch, template_base.VariableNode, "render")
    counts = []
    for size in (1, 25):
        hydra_answers(page_of(size))
        renders[0] = 0
        assert viewer.get(LIST).status_code == 200
        counts.append(renders[0])
    assert counts[0] == counts[1]


def test_a_console_page_reverses_no_url_once_warm(viewer, hydra_answers, monkeypatch):
    """The layout's and the list's links are resolved once per process, not per request ({% url %} and
    reverse() cost 10-35 µs each; a page took about ten)."""
    hydra_answers(page_of(3))
    viewer.get(LIST)
    reverses = counting(monkeypatch, resolvers.URLResolver, "_reverse_with_prefix")
    assert viewer.get(LIST).status_code == 200
    assert viewer.get(LIST, headers={"HX-Request": "true"}).status_code == 200
    assert reverses[0] == 0


def test_the_navigation_is_rendered_once_per_role_and_section(console, hydra_answers):
    hydra_answers(page_of(1))
    viewer, admin = console("viewer"), console("admin")
    viewer.get(LIST)
    again = viewer.get(LIST)
    assert "components/nav.html" not in [t.name for t in again.templates]
    html = again.content.decode()
    assert '<a href="/console/clients/" aria-current="page">Clients</a>' in html
    assert '<a href="/console/">Overview</a>' in html and "API keys" not in html
    assert "API keys" in admin.get(LIST).content.decode()  # a role sees its own navigation
    fragment = viewer.get(LIST, headers={"HX-Request": "true"})
    assert b'<nav aria-label="Console">' not in fragment.content and b'id="client-table"' in fragment.content
