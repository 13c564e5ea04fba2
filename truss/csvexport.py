"""Every CSV file Truss writes goes through here, so that none can carry a formula into a spreadsheet.

OWASP's rule for CSV (formula) injection: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a single quote in front; Excel, LibreOffice and Google Sheets then show it as text instead of
running it. Values people or clients chose (scopes, audiences, subjects) reach these files unchanged otherwise.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: str) -> str:
    """The value as a spreadsheet will show it, never as a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class _Echo:
    """A file that hands back what is written: csv.writer formats one row, the caller streams it."""

    def write(self, value: str) -> str:
        return value


def lines(rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """The rows as CSV lines, one at a time, every cell neutralised."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([cell(value) for value in row])


def response(rows: Iterable[Sequence[str]], filename: str) -> StreamingHttpResponse:
    """A streamed download (constant memory at any size); ``filename`` is reduced to ASCII letters, digits, - and _."""
    answer = StreamingHttpResponse(lines(rows), content_type="text/csv; charset=utf-8")
    stem = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_" else "_" for ch in filename)[:100]
    answer["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    answer["Cache-Control"] = "no-store"
    return answer
