"""Durations, the one place that reads and writes them: whole seconds for people ("2 h"), and Go durations, the
form Hydra stores per-client lifespans in ("1h0m0s")."""

from __future__ import annotations

_GO_UNITS = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}


def human(seconds: int) -> str:
    """The largest whole unit: "2 d", "3 h", "15 min", otherwise "90 s"."""
    if seconds % 86400 == 0 and seconds >= 86400:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def to_go(seconds: int) -> str:
    """Seconds as Hydra answers durations ("1h0m0s", "5m0s", "30s"), so previews compare equal to what Hydra
    stores."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def from_go(value: str | None) -> int | None:
    """A Go duration as Hydra answers it ("1h0m0s", "90s", "1.5h") in whole seconds; None for none."""
    if not value:
        return None
    total, number = 0.0, ""
    i = 0
    while i < len(value):
        ch = value[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if value[i : i + 2] == "ms" else ch
        total += float(number or 0) * _GO_UNITS.get(unit, 0)
        number = ""
        i += len(unit)
    return int(total)
