"""The demo callback page for someone without a matching flow-tester run: words for the person who signed in,
not a restatement of its heading, and operator advice only for a signed-in operator."""

from __future__ import annotations

import re

import pytest
from django.test import Client

CODE = {"code": "ory_ac_" + "x" * 80, "state": "st4te"}
ERROR = {"error": "access_denied", "state": "s"}


def paragraphs(html: str) -> list[str]:
    main = html[html.index("<main") :]
    return [re.sub(r"\s+", " ", p).strip() for p in re.findall(r"<p[^>]*>(.*?)</p>", main, re.S)]


def test_it_does_not_repeat_the_heading_in_the_text(client: Client):
    html = client.get("/console/devtools/callback", CODE).content.decode()
    assert "<h1>Signed in: the application got a code</h1>" in html
    text = " ".join(paragraphs(html)).lower()
    assert "authorization code" not in text and "sent the browser back" not in text
    assert "nothing more to do here" in text


@pytest.mark.parametrize("query", [CODE, ERROR])
def test_it_gives_no_operator_advice_to_end_users(client: Client, query):
    html = client.get("/console/devtools/callback", query).content.decode()
    text = " ".join(paragraphs(html))
    assert "Operators" not in text and "operators" not in text
    assert "Flow tester" not in text and "What to change" not in text
    assert 'data-testid="operator-note"' not in html


def test_it_tells_an_end_user_what_to_do_after_an_error(client: Client):
    html = client.get("/console/devtools/callback", ERROR).content.decode()
    assert "Go back to the application and try again" in html


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "advice"), [(CODE, "Flow tester"), (ERROR, "what to change")])
def test_it_keeps_the_advice_for_a_signed_in_operator(console, query, advice):
    html = console("admin").get("/console/devtools/callback", query).content.decode()
    note = re.search(r'<p class="muted" data-testid="operator-note">(.*?)</p>', html, re.S)
    assert note and advice in note.group(1)
