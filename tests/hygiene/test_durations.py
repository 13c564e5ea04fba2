"""truss.durations: the one reading and writing of durations (people's "2 h", Hydra's Go "1h0m0s")."""

from __future__ import annotations

import pytest

from truss import durations


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (172800, "2 d"),
        (86400, "1 d"),
        (90000, "25 h"),
        (3600, "1 h"),
        (900, "15 min"),
        (90, "90 s"),
        (0, "0 s"),
    ],
)
def test_it_says_a_duration_in_its_largest_whole_unit(seconds: int, text: str) -> None:
    assert durations.human(seconds) == text


@pytest.mark.parametrize(("seconds", "go"), [(3600, "1h0m0s"), (5400, "1h30m0s"), (300, "5m0s"), (45, "45s")])
def test_it_writes_and_reads_hydras_go_durations(seconds: int, go: str) -> None:
    assert durations.to_go(seconds) == go
    assert durations.from_go(go) == seconds


def test_it_reads_fractions_and_milliseconds_and_nothing_as_none() -> None:
    assert durations.from_go("1.5h") == 5400
    assert durations.from_go("1500ms") == 1
    assert durations.from_go("") is None and durations.from_go(None) is None
