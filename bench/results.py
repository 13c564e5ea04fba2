"""bench/RESULTS.md: the tables of the latest `make bench` run with the machine they ran on; earlier runs below.

A run replaces the "Latest run" section and moves the one it replaces to the top of "Previous measurements", so
no measurement is ever dropped. Every cell is the median over interleaved rounds with its min–max spread; a
comparison puts Truss, what it is compared with and their per-round ratio side by side in one row.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import ROOT, median

RESULTS = Path(__file__).resolve().with_name("RESULTS.md")
LATEST_START = (
    "<!-- latest run: replaced by the next `make bench`, which moves it under Previous measurements -->"
)
LATEST_END = "<!-- end of latest run -->"
PREVIOUS_START = "<!-- previous runs, newest first -->"

HEADER = """# Benchmark results

Written by `make bench` (`bench/bridge_flows.py --client-list`). Each run replaces "Latest run" and moves the
run it replaces to the top of "Previous measurements". Every cell is the median over interleaved rounds with its
min–max spread in brackets; a ratio is computed per round, then summarised the same way. Everything (load
generator, Hydra, Kratos, PostgreSQL, Redis, both bridges) shares the same cores: compare ratios within one run,
not absolute numbers across runs or machines. How the benches work: `bench/bridge_flows.py`'s docstring.

"""

Cell = Sequence[float] | str


@dataclass(frozen=True)
class Row:
    """One measurement: a cell per column (per-round samples, or text), its target and whether it was met."""

    name: str
    cells: Sequence[Cell]
    target: str = ""
    verdict: str = ""


@dataclass
class Table:
    title: str
    columns: Sequence[str]
    rows: list[Row] = field(default_factory=list)
    note: str = ""

    def add(self, name: str, *cells: Cell, target: str = "", verdict: str = "") -> None:
        assert len(cells) == len(self.columns), (name, len(cells), self.columns)
        self.rows.append(Row(name, cells, target, verdict))


def ratios(values: Sequence[float], bases: Sequence[float]) -> list[float]:
    """Per-round ratios of two series measured in the same rounds."""
    return [v / b if b else float("nan") for v, b in zip(values, bases, strict=True)]


def verdict(met: bool) -> str:
    return "met" if met else "**NOT met**"


def cell(value: Cell) -> str:
    if isinstance(value, str):
        return value
    samples = [float(v) for v in value if not math.isnan(v)]
    if not samples:
        return "–"
    mid = median(samples)
    digits = 0 if all(v.is_integer() for v in samples) else 2
    text = f"{mid:,.{digits}f}"
    if len(samples) > 1 and min(samples) != max(samples):
        text += f" ({min(samples):,.{digits}f}–{max(samples):,.{digits}f})"
    return text


def markdown(table: Table) -> str:
    header = ["measurement", *table.columns, "target", "verdict"]
    lines = [f"### {table.title}", ""]
    if table.note:
        lines += [table.note, ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header) - 2)) + "|---|---|")
    for r in table.rows:
        lines.append("| " + " | ".join([r.name, *(cell(c) for c in r.cells), r.target, r.verdict]) + " |")
    return "\n".join(lines) + "\n"


# --- the machine -------------------------------------------------------------------------------------------------


def _run(*args: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False, cwd=ROOT)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def _cpu_model() -> str:
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    except OSError:
        return platform.processor() or "unknown CPU"
    return found.group(1).strip() if found else platform.processor() or "unknown CPU"


def _database() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    return f"SQLite {sqlite3.sqlite_version} (files)"


def _redis(cache_url: str) -> str:
    if not cache_url.startswith("redis://") or not shutil.which("redis-server"):
        return f"per-process cache ({cache_url})"
    found = re.search(r"v=(\S+)", _run("redis-server", "--version"))
    return f"Redis {found.group(1) if found else '?'} (shared cache)"


def _commit() -> str:
    commit = _run("git", "rev-parse", "--short", "HEAD") or "unknown"
    dirty = _run("git", "status", "--porcelain", "--untracked-files=no")
    return f"{commit}{' with uncommitted changes' if dirty else ''}"


def load_average() -> tuple[float, float]:
    one, five, _ = os.getloadavg()
    return one, five


def facts(*, cache_url: str, servers: str, command: str, load_before: tuple[float, float]) -> list[str]:
    """What the numbers depend on, one markdown list line each."""
    import django

    from truss.devstack import binary_version

    before, after = ("{:.1f} / {:.1f}".format(*pair) for pair in (load_before, load_average()))
    memory = ""
    try:
        total_kb = int(re.findall(r"^MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text(), re.MULTILINE)[0])
        memory = f", {total_kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, IndexError, ValueError):
        pass
    return [
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; Truss commit {_commit()}",
        f"- command: `{command}`",
        f"- machine: {os.cpu_count()} cores ({_cpu_model()}){memory}; {platform.system()} {platform.release()}",
        f"- load average (1 min / 5 min): {before} before the run, {after} after it",
        f"- Python {platform.python_version()}, Django {django.get_version()}",
        f"- Hydra {binary_version('hydra')}, Kratos {binary_version('kratos')}",
        f"- database: {_database()} (Hydra, Kratos and Truss each on their own); cache: {_redis(cache_url)}",
        f"- servers: {servers}",
    ]


# --- the file ----------------------------------------------------------------------------------------------------


def _demote(section: str) -> str:
    """Headings one level down, so a latest run nests under Previous measurements."""
    return re.sub(r"^(#{2,5}) ", lambda m: "#" + m.group(1) + " ", section, flags=re.MULTILINE)


def write(title: str, fact_lines: list[str], tables: list[Table], path: Path = RESULTS) -> Path:
    """Replace the latest run in `path` with this one; the replaced run moves under Previous measurements."""
    title = f"{dt.datetime.now(dt.UTC):%Y-%m-%d}, {title}"
    latest = "\n".join([f"## Latest run: {title}", "", *fact_lines, "", *(markdown(t) for t in tables)])
    text = path.read_text() if path.exists() else HEADER
    start, end = text.find(LATEST_START), text.find(LATEST_END)
    if start == -1 or end == -1:
        head, old, tail = text, "", ""
    else:
        head, old, tail = (
            text[:start],
            text[start + len(LATEST_START) : end].strip(),
            text[end + len(LATEST_END) :],
        )
    if PREVIOUS_START not in tail:
        tail = f"\n\n## Previous measurements\n\n{PREVIOUS_START}\n" + tail
    if old.startswith("## Latest run: "):  # (not the placeholder of a file no run has written yet)
        at = tail.index(PREVIOUS_START) + len(PREVIOUS_START)
        tail = tail[:at] + "\n\n" + _demote(old.replace("## Latest run: ", "## Run: ", 1)) + "\n" + tail[at:]
    path.write_text(
        f"{head.rstrip()}\n\n{LATEST_START}\n{latest.rstrip()}\n{LATEST_END}\n\n{tail.lstrip(chr(10))}"
    )
    return path


def command_line() -> str:
    return " ".join([Path(sys.executable).name, *sys.argv])
