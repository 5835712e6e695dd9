"""Finance reports and the analyst warehouse, tested the way finance staff and analysts use them."""

import csv
import os
import shutil
import subprocess
import sys
import textwrap
from decimal import Decimal

import duckdb
import openpyxl
import pytest

from claimrecon import reports
from claimrecon.paths import SQL_DIR
from tests.conftest import ro


def _reports(demo, period):
    return demo["warehouse"].parent / "reports" / period


def test_demo_writes_every_report_owner_only(demo):
    for period in demo["periods"]:
        folder = _reports(demo, period)
        expected = [folder / f"claimrecon_{period}.xlsx", folder / f"claimrecon_{period}.html",
                    folder / "data_docs" / "index.html"]
        for p in expected:
            assert p.is_file(), p
            assert p.stat().st_mode & 0o077 == 0, f"{p} is readable by others"
        assert folder.stat().st_mode & 0o077 == 0
        assert len(list((folder / "remittance").glob("remittance_*.csv"))) >= 4
        assert not (folder.parent / ".staging" / period).exists()  # staged reports were moved, not copied


def test_workbook_totals_equal_the_warehouse(demo):
    period = demo["periods"][-1]
    wb = openpyxl.load_workbook(_reports(demo, period) / f"claimrecon_{period}.xlsx")
    assert {"Summary", "Denial ledger", "Rejected records", "Findings", "Providers"} <= set(wb.sheetnames)
    assert any(name.startswith("P ") for name in wb.sheetnames)  # per-provider sheets
    s = wb["Summary"]
    labels = {s.cell(r, 1).value: (s.cell(r, 2).value, s.cell(r, 3).value) for r in range(5, 9)}
    with ro(demo["warehouse"]) as con:
        billed, paid, lines = con.execute("SELECT sum(billed_amount), sum(paid_amount), count(*) FILTER (WHERE row_type='line') "
                                          "FROM claim_outcomes WHERE period = ?", [period]).fetchone()
        ledger_total, ledger_rows = con.execute("SELECT sum(amount), count(*) FROM denial_ledger WHERE period = ?",
                                                [period]).fetchone()
        rejected = con.execute("SELECT count(*) FROM rejected_records WHERE period = ?", [period]).fetchone()[0]
    assert Decimal(str(labels["Billed"][1])) == billed and labels["Billed"][0] == lines
    assert Decimal(str(labels["Paid"][1])) == paid
    assert s.cell(9, 3).value == "=C5-C6-C7-C8"  # the balance proof is a live formula
    assert s.cell(10, 1).value == "Balanced to the cent"
    assert s._charts, "the summary sheet has native charts"
    led = wb["Denial ledger"]
    header = [c.value for c in led[1]]
    amounts = [r[header.index("Dollars")] for r in led.iter_rows(min_row=2, values_only=True)]
    assert len(amounts) == ledger_rows
    assert sum(Decimal(str(a)) for a in amounts) == ledger_total
    assert led.freeze_panes == "A2" and led.auto_filter.ref
    assert wb["Rejected records"].max_row - 1 == rejected


def test_reports_mask_recipient_ids_unless_asked(demo):
    period = demo["periods"][0]
    with ro(demo["warehouse"]) as con:
        ids = {r[0] for r in con.execute("SELECT DISTINCT recipient_id FROM denial_ledger d JOIN claim_outcomes o "
                                         "USING (period, source_file, source_row, row_type) WHERE period = ? "
                                         "AND recipient_id IS NOT NULL", [period]).fetchall()}
    assert ids
    html = (_reports(demo, period) / f"claimrecon_{period}.html").read_text()
    assert "recipient ids masked" in html
    wb = openpyxl.load_workbook(_reports(demo, period) / f"claimrecon_{period}.xlsx", read_only=True)
    cells = {str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None}
    wb.close()
    for pmi in ids:
        assert pmi not in html
        assert not any(pmi in c for c in cells)
    assert any(c.startswith("•") for c in cells)
    # remittance files go to the billing provider, who needs the ids to correct and resubmit
    remit = "".join(p.read_text() for p in (_reports(demo, period) / "remittance").glob("*.csv"))
    assert any(pmi in remit for pmi in ids)


def test_text_that_looks_like_a_formula_stays_text(demo, tmp_path):
    """Ids, messages and raw records starting with = + - @ open as text (workbook) or escaped (CSV)."""
    db = tmp_path / "w.duckdb"
    shutil.copyfile(demo["warehouse"], db)
    period = demo["periods"][0]
    hostile = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)"]
    con = duckdb.connect(str(db))
    icn = con.execute("SELECT icn FROM denial_ledger WHERE period = ? ORDER BY icn LIMIT 1", [period]).fetchone()[0]
    con.execute("UPDATE claim_outcomes SET recipient_id = ? WHERE period = ? AND icn = ?", [hostile[0], period, icn])
    con.execute("UPDATE rejected_records SET raw_record = ? WHERE period = ?", [hostile[1], period])
    con.execute("UPDATE denial_ledger SET message = ? WHERE period = ? AND icn = ?", [hostile[2], period, icn])
    con.execute("UPDATE findings SET message = ? WHERE period = ?", [hostile[3], period])
    out = reports.build(con, period, tmp_path / "r", mask_ids=False)
    con.close()
    wb = openpyxl.load_workbook(out["workbook"])
    seen = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in hostile:
                    seen[cell.value] = cell.data_type
    assert set(seen) == set(hostile), seen
    assert set(seen.values()) == {"s"}  # strings, never formulas
    remit = [r for p in out["remittance"].glob("*.csv") for r in csv.DictReader(p.open())]
    assert any(r["recipient_id"] == "'" + hostile[0] for r in remit)
    assert any(r["message"] == "'" + hostile[2] for r in remit)
    assert all(not (r["recipient_id"] or "x").startswith(("=", "+", "@")) for r in remit)


def test_reports_are_identical_when_rebuilt(demo, tmp_path):
    period = demo["periods"][-1]
    with ro(demo["warehouse"]) as con:
        a = reports.build(con, period, tmp_path / "a")
        b = reports.build(con, period, tmp_path / "b")
    assert reports.digest(tmp_path / "a") == reports.digest(tmp_path / "b")
    assert a["html"].read_bytes() == b["html"].read_bytes()


def test_remittance_and_835_files_do_not_depend_on_the_batch_size(demo, tmp_path, monkeypatch):
    """A query per range of providers streams their lines in provider order; a provider cut across batches,
    or ranges of a few lines, give the same files, byte for byte, as one range read in a single batch."""
    from claimrecon import x12

    period = demo["periods"][-1]
    with ro(demo["warehouse"]) as con:
        reports.write_remittance(con, period, tmp_path / "r1")
        x12.write_period(con, period, tmp_path / "x1")
        monkeypatch.setattr(reports, "REMITTANCE_BATCH", 7)
        monkeypatch.setattr(x12, "DETAIL_BATCH", 5)
        monkeypatch.setattr(reports, "REMITTANCE_SLICE", 50)
        monkeypatch.setattr(x12, "DETAIL_SLICE", 30)
        reports.write_remittance(con, period, tmp_path / "r2")
        x12.write_period(con, period, tmp_path / "x2")
    for one, many in (("r1", "r2"), ("x1", "x2")):
        names = sorted(p.name for p in (tmp_path / one).iterdir())
        assert len(names) >= 4 and names == sorted(p.name for p in (tmp_path / many).iterdir())
        for name in names:
            assert (tmp_path / one / name).read_bytes() == (tmp_path / many / name).read_bytes(), name


@pytest.mark.parametrize("slice_rows", [1_000_000, 1, 3])
def test_remittance_files_are_named_apart_across_the_whole_month(tmp_path, monkeypatch, slice_rows):
    """Provider ids that differ only in case, that name no file safely, or that are missing each get a file of
    their own, whatever their place in the month; lines and adjustments in order, formulas escaped."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("""CREATE TABLE claim_outcomes (period VARCHAR, icn VARCHAR, line_no INTEGER, row_type VARCHAR,
        adjustment_ind VARCHAR, outcome VARCHAR, recipient_id VARCHAR, procedure_code VARCHAR, modifiers VARCHAR,
        service_date DATE, billed_units DECIMAL(12,2), billed_amount DECIMAL(12,2), paid_units DECIMAL(12,2),
        paid_amount DECIMAL(12,2), billing_provider_id VARCHAR, source_file VARCHAR, source_row BIGINT)""")
    con.execute("""CREATE TABLE denial_ledger (period VARCHAR, source_file VARCHAR, source_row BIGINT, row_type VARCHAR,
        rule_id VARCHAR, group_code VARCHAR, carc VARCHAR, rarc VARCHAR, units DECIMAL(12,2), amount DECIMAL(12,2),
        message VARCHAR, is_primary BOOLEAN)""")
    providers = ["abc", None, "a/b", "ABC", "_unreadable_provider"]
    rows = [("2026-01", f"{900 - i:03d}", line, "line", None, "paid", "=R1" if line == 2 else f"R{i}", "T1019", None,
             "2026-01-05", 4, 40, 4, 40, pid, "c.csv", 10 * i + line)
            for i, pid in enumerate(providers) for line in (2, 1)]
    con.executemany("INSERT INTO claim_outcomes VALUES (" + ", ".join(["?"] * 17) + ")", rows)
    con.executemany("INSERT INTO denial_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        ("2026-01", "c.csv", 1, "line", "R9", "CO", "45", None, 0, 1, "second", False),
        ("2026-01", "c.csv", 1, "line", "R2", "CO", "96", "N130", 0, 2, "+first", True)])
    monkeypatch.setattr(reports, "REMITTANCE_SLICE", slice_rows)  # one query, or one per provider or two
    paths = reports.write_remittance(con, "2026-01", tmp_path / "r")
    con.close()
    assert sorted(p.name for p in paths) == sorted(f"remittance_2026-01_{s}.csv" for s in
                                                   ("ABC", "_unreadable_provider", "a_b", "abc_", "_unreadable_provider_"))
    by_file = {p.name.removeprefix("remittance_2026-01_").removesuffix(".csv"): list(csv.DictReader(p.open()))
               for p in paths}
    assert {k: {r["billing_provider_id"] for r in v} for k, v in by_file.items()} == {
        "ABC": {"ABC"}, "_unreadable_provider": {"_unreadable_provider"}, "a_b": {"a/b"}, "abc_": {"abc"},
        "_unreadable_provider_": {""}}
    abc = by_file["abc_"]
    assert [(r["line_no"], r["rule_id"], r["message"]) for r in abc] == [
        ("1", "R2", "'+first"), ("1", "R9", "second"), ("2", "", "")]
    assert [r["recipient_id"] for r in abc] == ["R0", "R0", "'=R1"]


def test_every_example_query_runs(demo):
    examples = sorted((SQL_DIR / "examples").glob("*.sql"))
    assert len(examples) >= 5
    with ro(demo["warehouse"]) as con:
        counts = {}
        for q in examples:
            df = con.sql(q.read_text()).pl()
            assert df.width >= 2
            counts[q.name] = df.height
        diff = con.sql((SQL_DIR / "examples" / "06_balance_proof.sql").read_text()).pl()["difference"].to_list()
    assert diff == [Decimal("0.00")] * len(demo["periods"])
    assert counts["01_top_denial_reasons.sql"] == 10
    assert counts["05_month_over_month.sql"] == len(demo["periods"])
    assert counts["04_partial_lines_attribution.sql"] > 0


def test_reconciliation_summary_and_utilization_agree_with_the_lines(demo):
    with ro(demo["warehouse"]) as con:
        for period in demo["periods"]:
            s = con.execute("""SELECT sum(claim_lines), sum(billed_amount), sum(paid_amount), sum(denied_amount),
                               sum(rejected_amount) FROM reconciliation_summary WHERE period = ?""", [period]).fetchone()
            o = con.execute("""SELECT count(*) FILTER (WHERE row_type = 'line'), sum(billed_amount), sum(paid_amount)
                               FROM claim_outcomes WHERE period = ?""", [period]).fetchone()
            assert s[:3] == o
            assert s[1] == s[2] + s[3] + s[4]
            by_reason = con.execute("SELECT sum(amount) FROM reconciliation_denials WHERE period = ?", [period]).fetchone()[0]
            assert by_reason == s[3] + s[4]
        u = con.execute("""SELECT sum(used_units) FROM authorization_utilization""").fetchone()[0]
        paid = con.execute("""SELECT sum(o.paid_units) FROM claim_outcomes o JOIN authorization_utilization a
                              ON a.sa_number = o.sa_number AND a.sa_line_no = o.sa_line_no""").fetchone()[0]
        assert u == paid and u > 0
        near = con.execute("SELECT count(*) FROM authorization_utilization WHERE near_exhaustion").fetchone()[0]
        assert near >= 1  # the generator exhausts an agreement line (GEN-AUTH-UNITS)


def _browser():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (path and driver):
        if os.environ.get("CLAIMRECON_REQUIRE_BROWSER"):
            pytest.fail("Chromium and chromedriver are required here (installed by .ci/run)")
        pytest.skip("Chromium is not installed (.ci/run installs it from Debian's packages)")
    return path, driver


def test_html_report_renders_in_headless_chromium(demo, tmp_path):
    chromium, driver_path = _browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    period = demo["periods"][-1]
    page = _reports(demo, period) / f"claimrecon_{period}.html"
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,2000"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get(page.as_uri())
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        text = driver.find_element("tag name", "body").text
        logs = driver.get_log("browser")
        figures = len(driver.find_elements("css selector", "figure svg"))
    finally:
        driver.quit()
    assert [entry for entry in logs if entry["level"] in ("SEVERE", "WARNING")] == []
    with ro(demo["warehouse"]) as con:
        billed, paid = con.execute("SELECT sum(billed_amount), sum(paid_amount) FROM claim_outcomes WHERE period = ?",
                                   [period]).fetchone()
    assert f"{billed:,.2f}" in text and f"{paid:,.2f}" in text
    assert "balanced to the cent" in text
    assert figures == 4


def test_html_report_needs_no_network_or_script(demo):
    period = demo["periods"][0]
    html = (_reports(demo, period) / f"claimrecon_{period}.html").read_text()
    assert "<script" not in html
    import re
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)|url\(\s*["']?(https?:|//)|@import""", html)
    assert "@media print" in html


READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("SELECT count(DISTINCT period) FROM claim_outcomes").fetchone()[0], flush=True)
    sys.stdin.readline()                      # the run happens while this connection is open
    print(con.execute("SELECT count(DISTINCT period) FROM claim_outcomes").fetchone()[0], flush=True)
    con.close()
    con = duckdb.connect(sys.argv[1], read_only=True)   # reconnect: the new month is there
    print(con.execute("SELECT count(DISTINCT period) FROM claim_outcomes").fetchone()[0], flush=True)
""")


def test_analyst_reader_is_not_disturbed_by_a_run(demo, tmp_path):
    from claimrecon.generator import generate
    from claimrecon.runner import run_period

    inbox = tmp_path / "inbox"
    s = generate(inbox, months=2, seed=5, scale="demo")
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    run_period(inbox, s["periods"][0], wh)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(wh)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "1"
        run_period(inbox, s["periods"][1], wh)  # a writer publishes while the analyst is connected
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"  # the open connection still sees its snapshot
        assert reader.stdout.readline().strip() == "2"  # after reconnecting: the new month
    finally:
        reader.stdin.close()
        assert reader.wait(timeout=60) == 0
