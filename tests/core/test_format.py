"""The console's one time filter and one duration filter (truss/templatetags/truss_format.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.template import Context, Template

from truss.templatetags import truss_format as fmt

NOW = datetime(2026, 12, 7, 16, 0, 0, tzinfo=UTC)


def render(source: str, **context: object) -> str:
    return Template("{% load truss_format %}" + source).render(Context(context))


def test_it_shows_a_time_as_absolute_utc_plus_relative_in_a_time_element():
    html = fmt.when(NOW - timedelta(days=3, hours=2), now=NOW)
    assert html.startswith('<time datetime="2026-12-04T14:00:00+00:00"')
    assert "2026-12-04 14:00 UTC" in html and "3 d ago" in html and html.endswith("</time>")


def test_it_converts_other_zones_and_naive_times_to_utc():
    berlin = datetime(2026, 12, 7, 18, 30, tzinfo=timezone(timedelta(hours=2)))
    assert 'datetime="2026-12-07T16:30:00+00:00"' in fmt.when(berlin, now=NOW)
    assert "in 30 min" in fmt.when(berlin, now=NOW)
    assert 'datetime="2026-12-07T15:00:00+00:00"' in fmt.when(datetime(2026, 12, 7, 15, 0), now=NOW)
    assert 'datetime="2026-12-07T15:59:00+00:00"' in fmt.when("2026-12-07T15:59:00Z", now=NOW)


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=-5), "5 min ago"),
        (timedelta(hours=2, minutes=10), "in 2 h"),
        (timedelta(days=-40), "40 d ago"),
    ],
)
def test_it_says_how_long_ago_or_until(delta, words):
    assert fmt.relative(NOW + delta, NOW) == words


def test_it_renders_nothing_for_no_time_and_escapes_in_templates():
    assert render("{{ t|when }}", t=None) == ""
    assert render("{{ t|when }}", t="not a time") == ""
    html = render("{{ t|when }}", t=datetime.now(UTC))
    assert html.startswith("<time datetime=") and "just now" in html


@pytest.mark.parametrize(
    ("value", "iso", "words"),
    [
        (900, "PT15M", "15 min"),
        ("15m0s", "PT15M", "15 min"),
        ("1h0m0s", "PT1H", "1 h"),
        (7200, "PT2H", "2 h"),
        ("720h0m0s", "P30D", "30 d"),
        (90, "PT1M30S", "90 s"),
        ("3600", "PT1H", "1 h"),
        (0, "PT0S", "0 s"),
    ],
)
def test_it_shows_durations_from_seconds_and_go_strings_alike(value, iso, words):
    assert render("{{ v|duration }}", v=value) == f'<time datetime="{iso}">{words}</time>'


def test_it_leaves_no_duration_empty_and_other_text_escaped():
    assert render("{{ v|duration }}", v=None) == ""
    assert render("{{ v|duration }}", v="<b>") == "&lt;b&gt;"


def test_it_builds_breadcrumbs_with_the_current_page_last():
    html = render('{% crumbs "Clients" "/c/" name "/c/1" "History" %}', name="A & B")
    assert html == (
        '<nav class="breadcrumbs" aria-label="Breadcrumb"><ol><li><a href="/c/">Clients</a></li>'
        '<li><a href="/c/1">A &amp; B</a></li><li aria-current="page">History</li></ol></nav>'
    )
