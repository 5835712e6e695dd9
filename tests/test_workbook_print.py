"""The workbook as finance staff use it: opened, read and printed. Printing is checked the way a person
would: LibreOffice (Debian's package) converts the workbook to PDF, and the PDF's pages are read back."""

import math
import os
import re
import shutil
import subprocess
from collections import Counter

import openpyxl
import pytest

from claimrecon import reports
from contracts.rules import RULES
from tests.conftest import ro


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        if os.environ.get("CLAIMRECON_REQUIRE_OFFICE"):
            pytest.fail(f"{name} is required here (installed by .ci/run)")
        pytest.skip(f"{name} is not installed (.ci/run installs libreoffice-calc and poppler-utils)")
    return path


def _workbook(demo):
    period = demo["periods"][-1]
    return period, demo["warehouse"].parent / "reports" / period / f"claimrecon_{period}.xlsx"


def to_pdf(xlsx, out_dir):
    """Convert with LibreOffice in a private profile (two test workers never share one)."""
    soffice = _tool("soffice")
    subprocess.run([soffice, f"-env:UserInstallation=file://{out_dir / 'lo-profile'}", "--headless", "--norestore",
                    "--convert-to", "pdf", "--outdir", str(out_dir), str(xlsx)],
                   check=True, capture_output=True, timeout=300, env={**os.environ, "HOME": str(out_dir)})
    pdf = out_dir / (xlsx.stem + ".pdf")
    assert pdf.is_file()
    return pdf


def pdf_pages(pdf) -> list[str]:
    """The text of every page (poppler's pdftotext)."""
    info = subprocess.run([_tool("pdfinfo"), str(pdf)], check=True, capture_output=True, text=True).stdout
    n = int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))
    return [subprocess.run([_tool("pdftotext"), "-layout", "-f", str(i), "-l", str(i), str(pdf), "-"],
                           check=True, capture_output=True, text=True).stdout for i in range(1, n + 1)]


def pages_per_sheet(pages: list[str], sheets: list[str]) -> Counter:
    """Each page's header names its sheet (`claimrecon — <title>` on the left, the sheet name on the right)."""
    counts = Counter()
    for text in pages:
        head = text.strip().splitlines()[0]
        names = [s for s in sheets if head.rstrip().endswith(s)]
        assert names, f"a page without its sheet's header: {head!r}"
        counts[max(names, key=len)] += 1
    return counts


def test_workbook_prints_one_page_wide_with_headers_and_footers(demo, tmp_path):
    period, xlsx = _workbook(demo)
    wb = openpyxl.load_workbook(xlsx)
    pages = pdf_pages(to_pdf(xlsx, tmp_path))
    counts = pages_per_sheet(pages, wb.sheetnames)
    with ro(demo["warehouse"]) as con:
        ledger_rows = con.execute("SELECT count(*) FROM denial_ledger WHERE period = ?", [period]).fetchone()[0]
        reasons = con.execute("SELECT count(DISTINCT rule_id) FROM denial_ledger WHERE period = ? AND row_type = 'line'",
                              [period]).fetchone()[0]
    print("pages per sheet:", dict(counts), "total", len(pages))
    assert set(counts) == set(wb.sheetnames)  # every sheet prints
    assert counts["Summary"] <= 2 + math.ceil(reasons / 12)  # a dozen reasons a page, the balance and a chart
    assert counts["Denial ledger"] <= math.ceil(ledger_rows / 8)  # rows stay readable, not one per page
    for name in wb.sheetnames:  # a provider's adjusted lines: a page per eight lines at most
        if name.startswith("P "):
            assert counts[name] <= max(1, math.ceil((wb[name].max_row - 1) / 8))
    assert len(pages) < 30  # it printed as 56 pages before the print setup
    for text in pages:
        assert f"Claims received {period}" in text and "Page " in text  # period and page number in the footer
    ledger_pages = [t for t in pages if t.strip().splitlines()[0].rstrip().endswith("Denial ledger")]
    for text in ledger_pages:  # one page wide (the last column is on every page) and the header row repeated
        head = " ".join(text.strip().splitlines()[1:5])  # the sheet's header row, wrapped over a few lines
        assert "ICN" in head and "Source" in head and re.search(r"\brow\b", head), head
    # the page setup itself, as Excel reads it
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
        assert "&P" in ws.oddFooter.center.text and period in ws.oddFooter.left.text
        if ws.title != "Summary":
            assert ws.print_title_rows == "$1:$1"


def test_no_chart_covers_a_used_cell(demo):
    _, xlsx = _workbook(demo)
    wb = openpyxl.load_workbook(xlsx)
    charts = 0
    for ws in wb.worksheets:
        for ch in ws._charts:
            a = ch.anchor
            charts += 1
            covered = [ws.cell(r + 1, c + 1).coordinate for r in range(a._from.row, a.to.row + 1)
                       for c in range(a._from.col, a.to.col + 1) if ws.cell(r + 1, c + 1).value is not None]
            assert covered == [], f"a chart on {ws.title} covers {covered[:5]}"
    assert charts == 2


def test_chart_overlap_check_catches_a_chart_over_data(demo, tmp_path):
    """The check above fails on the layout the issue reported (a chart anchored over the program table)."""
    xlsx = tmp_path / "bad.xlsx"
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(xlsx))
    ws = wb.add_worksheet("Summary")
    for r in range(20):
        ws.write_number(r, 5, r)
    ch = wb.add_chart({"type": "column"})
    ch.add_series({"values": ["Summary", 0, 5, 19, 5]})
    ws.insert_chart(3, 4, ch)
    wb.close()
    a = openpyxl.load_workbook(xlsx)["Summary"]._charts[0].anchor
    s = openpyxl.load_workbook(xlsx)["Summary"]
    assert any(s.cell(r + 1, c + 1).value is not None for r in range(a._from.row, a.to.row + 1)
               for c in range(a._from.col, a.to.col + 1))


def _width(ws, col: int) -> float:
    """A column's width (openpyxl keys a run of equal columns by its first letter)."""
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= col <= dim.max:
            return dim.width
    return 8.43


def test_workbook_reads_like_a_finance_report(demo):
    period, xlsx = _workbook(demo)
    wb = openpyxl.load_workbook(xlsx)
    for ws in wb.worksheets[1:]:
        header = [c.value for c in ws[1] if c.value is not None]
        assert header and not [h for h in header if "_" in h], f"snake_case headers on {ws.title}: {header}"
    led = wb["Denial ledger"]
    header = [c.value for c in led[1]]
    icn = header.index("ICN")
    col = openpyxl.utils.get_column_letter(icn + 1)
    for r in range(2, led.max_row + 1):  # ICNs are 15-digit text, never numbers
        cell = led[f"{col}{r}"]
        assert cell.data_type == "s" and cell.number_format == "@" and 13 <= len(cell.value) <= 20
    # widths fit the content: no value wider than its column unless it wraps
    for ws in wb.worksheets[1:]:
        for row in ws.iter_rows(min_row=1):
            for cell in row:
                if isinstance(cell.value, str):
                    width = _width(ws, cell.column)
                    assert len(cell.value) <= width or cell.alignment.wrap_text, (ws.title, cell.coordinate)
    s = wb["Summary"]
    assert len(str(s["A8"].value)) <= _width(s, 1)  # "Rejected at the front end (FE-*)" fits
    # the summary's denial table: every rule with its message and citation from the catalog
    start = next(r for r in range(1, s.max_row + 1) if s.cell(r, 1).value == "Denials by reason") + 1
    head = [s.cell(start, c).value for c in range(1, 8)]
    assert head == ["Rule", "Codes", "Lines", "Units", "Dollars", "Message", "Citation"]
    rows = []
    r = start + 1
    while s.cell(r, 1).value:
        rows.append([s.cell(r, c).value for c in range(1, 8)])
        r += 1
    with ro(demo["warehouse"]) as con:
        rules = {x[0] for x in con.execute("SELECT DISTINCT rule_id FROM denial_ledger WHERE period = ? AND "
                                           "row_type = 'line'", [period]).fetchall()}
    assert {x[0] for x in rows} == rules
    for rule_id, _, _, _, _, message, citation in rows:
        assert message == RULES[rule_id].message and citation == RULES[rule_id].citation


def test_header_labels_boundary():
    assert reports.header_label("billing_provider_id") == "Billing provider"
    assert reports.header_label("icn") == "ICN"
    assert reports.header_label("sa_line_no") == "Agreement line"
    assert reports.header_label("new_thing_id") == "New thing ID"  # a column nobody named yet still reads well
    assert reports.wrapped_lines("short", 30) == 1
    assert reports.wrapped_lines("word " * 20, 30) > 1


def test_formula_like_text_keeps_a_quote_prefix(tmp_path):
    """Text a spreadsheet would read as a formula is written as text with a quote prefix (it stays text when a
    person edits the cell); ordinary text has none."""
    import polars as pl
    import xlsxwriter

    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("T")
    df = pl.DataFrame({"message": ['=HYPERLINK("http://x","y")', "plain", "-2+3", "@SUM(A1) " + "x" * 80]})
    reports.write_table(ws, reports._Formats(wb), df)
    wb.close()
    cells = [c for c in openpyxl.load_workbook(path)["T"]["A"][1:]]
    assert [c.data_type for c in cells] == ["s"] * 4
    assert [bool(c.quotePrefix) for c in cells] == [True, False, True, True]
