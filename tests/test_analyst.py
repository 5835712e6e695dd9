"""The analyst path on a fresh clone: the SQL shell the README names opens the published warehouse
read-only, and every published table and column carries its description."""

import re
import subprocess
import sys
from pathlib import Path

import duckdb

from claimrecon import catalog
from claimrecon.paths import ROOT
from tests.conftest import ro

CLAIMRECON = str(Path(sys.executable).parent / "claimrecon")


def _readme_command(name: str) -> str:
    """The exact command line the README gives analysts (one line in a ```bash block)."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    lines = [ln for b in blocks for ln in b.splitlines() if name in ln and "claimrecon-demo/warehouse" in ln]
    assert lines, f"the README shows no `{name}` command on the demo warehouse"
    return lines[0]


def test_readme_sql_shell_command_answers_from_the_published_warehouse(demo):
    cmd = _readme_command("claimrecon sql")
    wh = demo["warehouse"]
    cmd = cmd.replace("claimrecon-demo/warehouse/claimrecon.duckdb", str(wh)).replace(".venv/bin/claimrecon", CLAIMRECON)
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    with ro(wh) as con:
        top = con.execute("SELECT rule_id FROM denial_ledger WHERE is_primary GROUP BY 1 ORDER BY sum(amount) DESC, 1 "
                          "LIMIT 1").fetchone()[0]
    assert top in proc.stdout
    assert "│" in proc.stdout  # DuckDB's boxed table, as its own shell prints it


def test_sql_shell_is_read_only_and_reports_errors(demo):
    wh = demo["warehouse"]
    with ro(wh) as con:
        before = con.execute("SELECT count(*) FROM claim_outcomes").fetchone()[0]
    proc = subprocess.run([CLAIMRECON, "sql", "--warehouse", str(wh), "-c", "DELETE FROM claim_outcomes;"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "read-only" in proc.stderr
    with ro(wh) as con:
        assert con.execute("SELECT count(*) FROM claim_outcomes").fetchone()[0] == before
    ok = subprocess.run([CLAIMRECON, "sql", "--warehouse", str(wh), "-c", "SELECT 1 AS one;"], capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0 and "one" in ok.stdout
    missing = subprocess.run([CLAIMRECON, "sql", "--warehouse", str(wh.parent / "nope.duckdb"), "-c", "SELECT 1"],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no warehouse" in missing.stderr


def test_sql_shell_session_from_stdin(demo):
    """A piped session: dot commands, a statement over several lines, CSV with every row."""
    wh = demo["warehouse"]
    period = demo["periods"][-1]
    session = (".tables\n.describe denial_ledger\n"
               f"SELECT count(*) AS n\n  FROM claim_outcomes\n  WHERE period = '{period}';\n"
               ".mode csv\nSELECT icn, line_no FROM claim_outcomes WHERE period = '" + period + "' ORDER BY 1, 2;\n")
    proc = subprocess.run([CLAIMRECON, "sql", "--warehouse", str(wh)], input=session, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    with ro(wh) as con:
        n = con.execute("SELECT count(*) FROM claim_outcomes WHERE period = ?", [period]).fetchone()[0]
    out = proc.stdout
    assert "claim_outcomes" in out and catalog.TABLES["claim_outcomes"][:40] in out  # .tables with descriptions
    assert catalog.column_description("denial_ledger", "carc") in out  # .describe shows column descriptions
    assert str(n) in out
    csv_rows = [ln for ln in out.splitlines() if re.fullmatch(r"\w{13,20},\d+", ln)]
    assert len(csv_rows) == n  # CSV mode: every row, not a sample


def test_every_published_table_and_column_has_its_description(demo):
    with ro(demo["warehouse"]) as con:
        tables = con.execute("""SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main'
                                UNION ALL SELECT view_name, comment FROM duckdb_views()
                                WHERE schema_name = 'main' AND NOT internal""").fetchall()
        cols = con.execute("""SELECT c.table_name, c.column_name, c.comment FROM duckdb_columns() c
                              WHERE c.schema_name = 'main' AND c.table_name IN (SELECT table_name FROM duckdb_tables()
                              UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal)""").fetchall()
    assert len(tables) >= 25 and len(cols) > 250
    assert [t for t, c in tables if not c] == []
    assert [f"{t}.{c}" for t, c, d in cols if not d] == []
    for t, c, d in cols:
        assert d == catalog.column_description(t, c)  # one source of truth
    assert dict(tables)["log_rule_minutes"].startswith("Work table")  # work tables say what they are
    page = (ROOT / "docs" / "warehouse.md").read_text()
    assert catalog.column_description("claim_outcomes", "adjusted_amount") in page
    assert "## Work tables" in page and "`run_plan`" in page


def test_an_undocumented_column_is_caught(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE claims (icn VARCHAR, line_no INTEGER)")
    assert catalog.comment_warehouse(con) == []
    con.execute("ALTER TABLE claims ADD COLUMN something_new VARCHAR")
    assert catalog.comment_warehouse(con) == ["claims.something_new"]
    assert con.execute("SELECT comment FROM duckdb_columns() WHERE column_name = 'icn'").fetchone()[0] == \
        catalog.COMMON["icn"]
    con.close()


def test_version_and_unwrapped_log_output_with_progress_counts(demo_copy, tmp_path):
    v = subprocess.run([CLAIMRECON, "--version"], capture_output=True, text=True, timeout=60)
    assert v.returncode == 0 and re.match(r"claimrecon \d+\.\d+\.\d+ \(rule catalog [0-9a-f]+, DuckDB 2\.", v.stdout)
    long_dir = tmp_path / ("a-long-folder-name-that-a-county-server-might-really-use-" * 2) / "warehouse"
    wh = long_dir / "claimrecon.duckdb"
    period = demo_copy["periods"][0]
    proc = subprocess.run([CLAIMRECON, "run", "--inbox", str(demo_copy["inbox"]), "--period", period,
                           "--warehouse", str(wh)], capture_output=True, text=True, timeout=300, env={
                               **__import__("os").environ, "COLUMNS": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(str(wh)) > 120
    assert f"published {wh} in" in proc.stdout  # one line, not wrapped at 80 columns
    assert str(wh.parent / "reports" / period / f"claimrecon_{period}.xlsx") in proc.stdout


def test_long_steps_report_counts(demo_copy):
    from claimrecon import progress
    from claimrecon.runner import run_period

    seen = []

    class Recorder(progress.Reporter):
        def update(self, step, done, total, unit):
            seen.append((step, done, total, unit))

    old = progress.reporter
    progress.reporter = Recorder()
    try:
        run_period(demo_copy["inbox"], demo_copy["periods"][-1], demo_copy["warehouse"])
    finally:
        progress.reporter = old
    steps = {s for s, *_ in seen}
    assert {"inbox_files", "log_billability", "claim_outcomes", "reports"} <= steps, steps
    for s in steps:  # counts rise to their total
        mine = [(d, t) for x, d, t, _ in seen if x == s]
        assert mine[-1][0] == mine[-1][1] and [d for d, _ in mine] == sorted(d for d, _ in mine)


def test_docs_stand_alone_and_cover_the_inbox_format():
    """Everything a user needs is in the repository: no page sends them to ../shared (tests may read it)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text()
        assert "../shared" not in text and "shared/spec" not in text, page.name
    for name in ("inbox.md", "outputs.md", "rule_catalog.md", "warehouse.md"):
        assert name in (ROOT / "README.md").read_text(), name
    inbox = (ROOT / "docs" / "inbox.md").read_text()
    spec = (ROOT.parent / "shared" / "spec" / "extracts.md").read_text()
    columns = set(re.findall(r"^\| `([a-z_0-9]+)`", spec, flags=re.M))
    assert len(columns) > 50
    assert [c for c in sorted(columns) if f"`{c}`" not in inbox] == []  # every column of every file, in our words
    for rev2 in ("death_date", "facility_stays.csv", "tin", "patient_control_number", "TRL|"):
        assert rev2 in inbox
