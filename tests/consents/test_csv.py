"""CSV exports: no cell reaches a spreadsheet as a formula (OWASP's rule), and every CSV goes through one writer."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from oauth2_admin.consents.models import LedgerEntry
from truss import csvexport

ROOT = Path(__file__).resolve().parents[2]
FORMULAS = ["=1+2", "+SUM(1)", "-2+3", "@A1", "=HYPERLINK(1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_it_puts_a_quote_before_a_cell_a_spreadsheet_would_run(value):
    assert csvexport.cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["", "openid email", "2025-01-01T00:00:00+00:00", "3fa85f64-5717", "a=1", " =1"]
)
def test_it_leaves_other_cells_as_they_are(value):
    assert csvexport.cell(value) == value


@pytest.mark.integration
@pytest.mark.django_db
def test_it_exports_the_ledger_without_a_formula_in_any_cell(console, tenant, make_app):
    app = make_app(tenant)
    at = "2025-01-01T00:00Z"
    for i, value in enumerate(FORMULAS):
        LedgerEntry.objects.create(
            tenant=tenant,
            client_id=app["client_id"],
            subject=f"{value}-subject-{i}",
            decision="accepted",
            state="active",
            scopes=[value, "openid"],
            audience=[value],
            first_at=at,
            last_at=at,
        )
    export = console("viewer").get(f"/console/consents/clients/{app['client_id']}/people.csv")
    assert export.status_code == 200 and export["Cache-Control"] == "no-store"
    assert re.fullmatch(r'attachment; filename="consents-[A-Za-z0-9_-]+\.csv"', export["Content-Disposition"])
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode(), newline="")))
    assert rows[0][0] == "subject" and len(rows) == 1 + len(FORMULAS)
    cells = [value for row in rows[1:] for value in row]
    assert not [value for value in cells if value.startswith(csvexport.FORMULA_STARTS)]
    by_subject = {row[0]: row for row in rows[1:]}
    for i, value in enumerate(FORMULAS):
        row = by_subject["'" + f"{value}-subject-{i}"]
        assert row[3] == f"'{value} openid" and row[4] == f"'{value}"


def test_every_csv_the_app_writes_goes_through_the_one_writer():
    sources = [p for d in ("truss", "oauth2_admin", "bridge") for p in (ROOT / d).rglob("*.py")]
    writers = [
        str(p.relative_to(ROOT))
        for p in sources
        if re.search(r"^\s*(import csv|from csv import)", p.read_text(), re.MULTILINE)
    ]
    assert writers == ["truss/csvexport.py"]
