"""Browser tests run under the console's strict CSP: nothing in them may make the page evaluate a string."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_it_finds_no_wait_for_function_in_the_browser_tests() -> None:
    # wait_for_function evaluates its predicate with eval inside the page; the CSP refuses that only when the
    # predicate is not already true on the first try, so such a test passes or fails by timing.
    # tests.fixtures.browser.eventually polls instead.
    using = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if path != Path(__file__).resolve() and "wait_for_function(" in path.read_text()
    ]
    assert using == []
