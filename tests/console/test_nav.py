"""The console menu: grouped, one name per page (the menu label is the page's <title> and <h1>), the current
page marked on every page and sub-page (a client's hygiene pages belong to Clients, not Hygiene)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from oauth2_admin.clients import service as clients
from tests.hygiene.conftest import CLEAN
from truss.context_processors import NAV_SECTIONS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PAGES = [(name, label) for _, pages in NAV_SECTIONS for name, label, _ in pages]
NOT_CONSOLE = {"api:openapi-view"}  # django-ninja's page: linked from the menu, no console layout


def nav_of(html: str) -> str:
    found = re.search(r'<nav aria-label="Console">(.*?)</nav>\s*<div class="who">', html, flags=re.S)
    assert found, html[:2000]
    return found.group(1)


def current_links(html: str) -> list[str]:
    """Labels of the menu's links marked as the current page."""
    return re.findall(r'<a href="[^"]*" aria-current="page"[^>]*>([^<]*)</a>', nav_of(html))


def title_and_h1(html: str) -> tuple[str, str]:
    title = re.search(r"<title>(.*?)</title>", html, flags=re.S)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", html, flags=re.S)
    assert title and h1
    return title.group(1).strip(), re.sub(r"<[^>]+>", "", h1.group(1)).strip()


def test_it_groups_the_menu_with_every_page_in_one_group():
    names = [name for name, _ in PAGES]
    assert len(names) == len(set(names)) == 17
    assert [group for group, _ in NAV_SECTIONS] == [
        "Applications",
        "Tokens & keys",
        "People",
        "Tools",
        "Monitoring",
        "Settings",
    ]


@pytest.mark.parametrize(("name", "label"), [p for p in PAGES if p[0] not in NOT_CONSOLE])
def test_it_titles_and_highlights_each_page_as_its_menu_label(ory, console, name, label):
    page = console("admin").get(reverse(name))
    assert page.status_code == 200
    html = page.content.decode()
    assert title_and_h1(html) == (f"{label} · Truss", label)
    assert current_links(html) == [label]


def test_it_shows_every_page_under_its_group_and_marks_the_current_group(ory, console):
    html = console("admin").get(reverse("console:keys:jwks")).content.decode()
    groups = re.findall(
        r'<div class="nav-group( current)?" role="group"[^>]*><span class="nav-group-label"[^>]*>([^<]*)</span>'
        r"(.*?)</div>",
        nav_of(html),
        flags=re.S,
    )
    shown = [(label.replace("&amp;", "&"), re.findall(r">([^<]+)</a>", links)) for _, label, links in groups]
    assert shown == [(group, [label for _, label, _ in pages]) for group, pages in NAV_SECTIONS]
    assert [label for current, label, _ in groups if current] == ["Tokens &amp; keys"]


def test_it_links_the_api_docs_without_htmx(ory, console):
    assert console("viewer").get(reverse("api:openapi-view")).status_code == 200
    admin = console("admin").get(reverse("console:apikeys:list")).content.decode()
    assert f'<a href="{reverse("api:openapi-view")}" hx-boost="false">API docs</a>' in nav_of(admin)


def test_it_highlights_clients_on_a_clients_history_and_other_facets(ory, console, tenant):
    client, _ = clients.create_for(None, tenant, {"client_name": "Demo web app", **CLEAN})
    cid = client.client_id
    for url in (
        reverse("console:hygiene:history", args=[cid]),
        reverse("console:hygiene:drift", args=[cid]),
        reverse("console:hygiene:client_findings", args=[cid]),
        reverse("console:clients:detail", args=[cid]),
    ):
        html = console("admin").get(url).content.decode()
        assert current_links(html) == ["Clients"], url
        assert re.search(r'<div class="nav-group current"[^>]*><span[^>]*>Applications<', nav_of(html)), url
        crumbs = re.search(r'<nav class="breadcrumbs" aria-label="Breadcrumb">(.*?)</nav>', html, flags=re.S)
        assert crumbs and ">Clients</a>" in crumbs.group(1), url
    history = console("admin").get(reverse("console:hygiene:history", args=[cid])).content.decode()
    crumbs = re.search(r'<nav class="breadcrumbs"[^>]*>(.*?)</nav>', history, flags=re.S)
    assert crumbs is not None
    assert re.findall(r"<li[^>]*>(?:<a [^>]*>)?([^<]+)", crumbs.group(1)) == [
        "Clients",
        "Demo web app",
        "History",
    ]


def test_it_keeps_hygiene_current_on_the_report_and_its_thresholds(ory, console):
    for url in (reverse("console:hygiene:report"), reverse("console:hygiene:thresholds")):
        assert current_links(console("admin").get(url).content.decode()) == ["Hygiene"], url


def test_it_shows_settings_without_api_keys_to_a_viewer(ory, console):
    html = console("viewer").get(reverse("console:overview")).content.decode()
    assert "API keys" not in nav_of(html)
