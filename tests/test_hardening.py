"""Hardening: the run is killed at each step, fed hostile files and random bytes, and must lose
nothing, leak nothing and never leave a half-written published warehouse. Each test records what it
tried in docs/reliability.md (written at the end of the test run, see conftest.py)."""

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimrecon import reports
from claimrecon.readers import read_delimited
from contracts import front_end as fe
from tests.conftest import record_reliability, ro

KILL_AFTER = ["inbox_files", "claims_extract", "service_logs_extract", "log_billability", "claim_outcomes", "findings",
              "reports", "controls"]
TABLES = ["claim_outcomes", "denial_ledger", "rejected_records", "log_billability", "findings"]


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def rows(db: Path, period: str) -> dict:
    with ro(db) as con:
        return {t: con.execute(f"SELECT * EXCLUDE (period) FROM {t} WHERE period = ? ORDER BY ALL", [period]).fetchall()
                for t in TABLES}


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "claimrecon.cli", *args]


def test_sigkill_at_each_step_leaves_the_last_good_results(demo_copy, tmp_path):
    inbox, wh, period = demo_copy["inbox"], demo_copy["warehouse"], demo_copy["periods"][-1]
    # the last good state: a complete run of the period (warehouse + reports)
    subprocess.run(cli("run", "--inbox", str(inbox), "--period", period, "--warehouse", str(wh)), check=True,
                   capture_output=True, timeout=300)
    good_wh, good_rows = sha(wh), rows(wh, period)
    good_reports = reports.digest(wh.parent / "reports" / period)
    results = []
    for after in KILL_AFTER:
        proc = subprocess.Popen(cli("run", "--inbox", str(inbox), "--period", period, "--warehouse", str(wh)),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        killed = False
        for line in proc.stdout:
            if f"✓ {after} " in line:
                os.kill(proc.pid, signal.SIGKILL)  # mid-run: the next step has started
                killed = True
                break
        proc.wait(timeout=300)
        assert killed, f"never saw step {after}"
        assert proc.returncode == -signal.SIGKILL
        assert sha(wh) == good_wh, f"published warehouse changed after a kill after {after}"
        assert reports.digest(wh.parent / "reports" / period) == good_reports
        results.append(after)
    # a plain re-run completes with the same results as an uninterrupted run
    subprocess.run(cli("run", "--inbox", str(inbox), "--period", period, "--warehouse", str(wh)), check=True,
                   capture_output=True, timeout=300)
    assert rows(wh, period) == good_rows
    assert reports.digest(wh.parent / "reports" / period) == good_reports
    record_reliability("Crash safety", "SIGKILL of `claimrecon run` just after each step: " + ", ".join(results),
                       len(results), "published warehouse and reports byte-identical to the last good run; "
                       "a plain re-run gives the same rows and report bytes")


def _hostile_inbox(demo_copy, period) -> tuple[Path, list[str]]:
    inbox = demo_copy["inbox"]
    base = inbox / period
    claims = next((base / "claims").glob("*.txt"))
    lines = claims.read_text().splitlines()
    header, body = lines[0], lines[1:-1]
    good = body[0].split("|")
    inj = "'); drop table claim_outcomes; --"
    hostile = []
    for i in range(len(good)):  # SQL in every field, one line per field
        f = list(good)
        f[i] = inj
        f[0] = f"20260299999{i:05d}" if i else inj
        hostile.append("|".join(f))
    def variant(**kw):
        f = dict(zip(header.split("|"), good))
        f.update(kw)
        return "|".join(f.values())
    hostile += [variant(icn="2026029999800001", service_date="2026-02-30"),
                variant(icn="2026029999800002", units="-5"),
                variant(icn="2026029999800003", units="99999999999"),
                variant(icn="2026029999800004", units="1e309"),
                variant(icn="2026029999800005", billed_amount="NaN"),
                variant(icn="2026029999800006", diagnosis_code="X" * 1_000_000),
                "|".join(good[:5]),  # truncated line
                "=HYPERLINK(\"http://evil\")|" + "|".join(good[1:])]
    body_bytes = "\n".join([header, *body, *hostile]).encode()
    raw_bad = b"\xff\xfe\x00garbage|\x80\x81"  # not UTF-8
    total = 0
    from decimal import Decimal, InvalidOperation
    i = header.split("|").index("billed_amount")
    for ln in [*body, *hostile, raw_bad.decode("utf-8", "backslashreplace")]:
        parts = ln.split("|")
        try:
            d = Decimal(parts[i])
            total += d if d.is_finite() else 0
        except (InvalidOperation, IndexError):
            pass
    n = len(body) + len(hostile) + 1
    claims.write_bytes(body_bytes + b"\n" + raw_bad + f"\nTRL|{n}|{total}\n".encode())
    logs = base / "service_logs"
    (logs / "dup_headers.csv").write_text("log_id,log_id,provider_id\nL1,L1,P\n")
    (logs / "header_only.csv").write_text(sorted(logs.glob("evv_*.csv"))[0].read_text().splitlines()[0] + "\n")
    (logs / "wide.csv").write_text(",".join(f"c{k}" for k in range(5000)) + "\n" + ",".join("x" * 5000) + "\n")
    (logs / "only_trailer.csv").write_text("TRL|0|0\n")
    (logs / "random_bytes.csv").write_bytes(__import__("random").Random(7).randbytes(4096))
    (logs / "..;rm -rf ~;.csv").write_text("log_id\n")
    (logs / "empty.csv").write_bytes(b"")
    return inbox, hostile


def test_hostile_files_are_loaded_or_rejected_never_crash(demo_copy, tmp_path):
    period = demo_copy["periods"][-1]
    inbox, hostile = _hostile_inbox(demo_copy, period)
    wh = demo_copy["warehouse"]
    watch = tmp_path.parent
    before = {p for p in watch.rglob("*")}
    proc = subprocess.run(cli("run", "--inbox", str(inbox), "--period", period, "--warehouse", str(wh)),
                          capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stderr[-1500:]
    with ro(wh) as con:
        files = con.execute("""SELECT source_file, detail_lines, loaded_rows, rejected_rows, status FROM input_files
                               WHERE period = ?""", [period]).fetchall()
        for name, detail, loaded, rejected, status in files:
            if status == "loaded":
                assert loaded + rejected == detail, name
        inj = con.execute("SELECT count(*) FROM rejected_records WHERE period = ? AND raw_record LIKE '%drop table%'",
                          [period]).fetchone()[0]
        assert con.execute("SELECT count(*) FROM claim_outcomes").fetchone()[0] > 0  # still there
        rules = dict(con.execute("SELECT rule_id, count(*) FROM rejected_records WHERE period = ? GROUP BY 1",
                                 [period]).fetchall())
        loaded_inj = con.execute("SELECT count(*) FROM claims WHERE period = ? AND (diagnosis_code LIKE '%drop table%' "
                                 "OR place_of_service LIKE '%drop table%')", [period]).fetchone()[0]
    assert inj + loaded_inj >= 1
    assert {"FE-PARSE", "FE-FORMAT", "FE-VALUE"} <= set(rules)
    after = {p for p in watch.rglob("*")}
    outside = [p for p in after - before if not (p.is_relative_to(wh.parent) or p.is_relative_to(tmp_path))]
    assert outside == []
    record_reliability("Hostile input", "hand-made hostile claim lines (SQL in every field, 2026-02-30, negative, "
                       "absurd and non-finite units/amounts, a 1 MB field, a truncated line, a formula, invalid UTF-8) "
                       "and service-log files (duplicate headers, header only, 5,000 columns, only a trailer, random "
                       "bytes, an empty file, a path-like name)", len(hostile) + 8,
                       "run completed; every line loaded or rejected with its FE-* rule (counts add up per file); "
                       "SQL text stored as data; nothing written outside the warehouse and reports folders")


# Blank as the reader sees it (Unicode White_Space; Python's str.strip() also strips \x1c-\x1f)
BLANK = "".join(chr(i) for i in (9, 10, 11, 12, 13, 32, 0x85, 0xa0, 0x1680, *range(0x2000, 0x200b), 0x2028, 0x2029, 0x202f, 0x205f, 0x3000))
LINE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(LINE, st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace"))), max_size=30),
       st.sampled_from(["claims", "service_logs"]))
def test_random_lines_are_loaded_or_rejected(tmp_path_factory, lines, kind):
    from claimrecon.ingest import KINDS
    k = KINDS[kind]
    cols = fe.columns(kind)
    path = tmp_path_factory.mktemp("fuzz") / ("f.txt" if k.sep == "|" else "f.csv")
    body = [ln.replace("\n", " ").replace("\r", " ") for ln in lines]
    path.write_text(k.sep.join(cols) + "\n" + "\n".join(body) + "\n", encoding="utf-8")
    raw = read_delimited(path, cols, k.sep, trailer=False)
    fails = fe.validate(kind, raw.rows, [])
    detail = sum(1 for ln in body if ln.strip(BLANK))
    assert raw.rows.height + len(raw.rejects) == raw.detail_lines
    assert raw.detail_lines == detail or (kind == "service_logs" and raw.detail_lines < detail)  # quoted line breaks
    assert fails.height <= raw.rows.height
    record_reliability("Hostile input", f"hypothesis: random text and bytes as {kind} lines (read + FE contract)", 1,
                       "every line loaded or rejected; no exception")


GOOD_LOG = "L1,1234567893,S1,12345678,H2014,UC U3,2026-01-05,09:00,10:00,60,in_person,in_person,Y,training,home,1:1,,note"
FILE_LINES = st.lists(st.one_of(st.just(GOOD_LOG), st.just('"'), st.just("a,b"), LINE.map(lambda t: t.replace("\n", " ").replace("\r", " "))),
                      max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(FILE_LINES, st.sampled_from(["standard", "reordered", "empty", "bytes", "crlf", "bom"])),
                min_size=1, max_size=5))
def test_reading_files_together_equals_one_by_one(tmp_path_factory, files):
    """The batched reader (a state month's 1,500 log files at once) gives each file exactly what reading it
    alone gives: the same records, rejects, detail-line counts and problems, whatever the files hold."""
    from claimrecon.readers import read_files
    cols = fe.columns("service_logs")
    folder = tmp_path_factory.mktemp("batch")
    paths = []
    for i, (lines, shape) in enumerate(files):
        header = list(reversed(cols)) if shape == "reordered" else cols
        body = [",".join(reversed(ln.split(","))) if shape == "reordered" else ln for ln in lines]
        eol = "\r\n" if shape == "crlf" else "\n"
        data = ("" if shape == "empty" else ",".join(header) + eol + eol.join(body) + eol).encode()
        if shape == "bom":
            data = b"\xef\xbb\xbf" + data
        if shape == "bytes":
            data += b"\xff\xfe,broken\n"
        path = folder / f"evv_{i}.csv"
        path.write_bytes(data)
        paths.append(path)
    _assert_batch_is_one_by_one(paths, cols)
    record_reliability("Hostile input", "hypothesis: up to 5 files of mixed shapes read together vs one by one", 1,
                       "each file's records, rejects and counts identical to reading it alone")


def test_pipe_files_with_trailers_read_together_equal_one_by_one(tmp_path):
    """Claim extracts: the control trailer, CRLF endings, a BOM, blank lines and a short line are found per
    file exactly as when each file is read alone."""
    from claimrecon.readers import read_files
    cols = fe.columns("claims")
    good = "2026010100001|1|0||2026-02-03|1234567893|12345678|H2014|UC U3|2026-01-10|4|38.00|12|F84.0"
    texts = {
        "a.txt": "|".join(cols) + "\n" + good + "\nTRL|1|38.00\n",
        "b.txt": "\ufeff" + "|".join(cols) + "\r\n" + good + "\r\n\r\nshort|line\r\nTRL|2|38.00\r\n\r\n",
        "c.txt": "|".join(cols) + "\n" + good + "\n",          # no trailer
        "d.txt": "|".join(cols) + "\nTRL|0|0\n",              # trailer only
    }
    paths = []
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")
        paths.append(tmp_path / name)
    batch = read_files(paths, cols, "|", trailer=True)
    for i, path in enumerate(paths):
        alone = read_delimited(path, cols, "|", trailer=True)
        got = batch.files[i]
        assert (got.detail_lines, got.rejects, got.problem, got.header, got.trailer) == \
               (alone.detail_lines, alone.rejects, alone.problem, alone.header, alone.trailer)
        assert batch.rows.filter(batch.rows["_file"] == i).drop("_file").equals(alone.rows)
    assert [f.trailer.count if f.trailer else None for f in batch.files] == [1, 2, None, 0]
    assert [f.detail_lines for f in batch.files] == [1, 2, 1, 0]
    assert batch.files[1].rejects[0][1].startswith("wrong field count")


def test_batched_reader_edges_equal_one_by_one(tmp_path):
    """What the batched reader does differently (Polars splits the lines and parses the detail lines' own
    bytes; only columns with white space at an edge are stripped) changes nothing: three BOMs on the first
    file of a batch, fields with (Unicode) white space at an edge, a quoted empty field, a blank field of
    spaces, and a clean file read together give what each gives alone."""
    from claimrecon.readers import read_files
    cols = fe.columns("service_logs")
    head = ",".join(cols) + "\n"
    texts = {
        "a.csv": b"\xef\xbb\xbf" * 3 + (head + GOOD_LOG + "\n").encode(),
        "b.csv": (head + GOOD_LOG.replace("L1,", "\u00a0L2 ,").replace(",note", ',""') + "\n"
                  + GOOD_LOG.replace("L1,", "L3,").replace(",,note", ',"  ",note\u3000') + "\n").encode(),
        "c.csv": (head + GOOD_LOG + "\n").encode(),
    }
    paths = []
    for name, data in texts.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    batch = _assert_batch_is_one_by_one(paths, cols)
    b = batch.rows.filter(batch.rows["_file"] == 1)
    assert b["log_id"].to_list() == ["L2", "L3"]
    assert b["narrative"].to_list() == [None, "note"] and b["tcm_flag"].to_list() == [None, None]
    claims = fe.columns("claims")
    good = "2026010100001|1|0||2026-02-03|1234567893|12345678|H2014|UC U3|2026-01-10|4|38.00|12|F84.0|"
    pipe = {"x.txt": "\ufeff\ufeff\ufeff" + "|".join(claims) + "\n" + good + "\nTRL|1|38.00\n",
            "y.txt": "|".join(claims) + "\n" + good.replace("|H2014|", "| H2014\u2003|") + "\nTRL|1|38.00\n"}
    for name, text in pipe.items():
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")
    batch = read_files([tmp_path / n for n in pipe], claims, "|", trailer=True)
    for i, name in enumerate(pipe):
        alone = read_delimited(tmp_path / name, claims, "|", trailer=True)
        assert batch.rows.filter(batch.rows["_file"] == i).drop("_file").equals(alone.rows)
        assert batch.files[i].rejects == alone.rejects and batch.files[i].header == alone.header
    assert batch.rows["procedure_code"].to_list()[-1] == "H2014"


def test_two_runs_at_once_one_is_refused(demo_copy):
    inbox, wh, period = demo_copy["inbox"], demo_copy["warehouse"], demo_copy["periods"][-1]
    first = subprocess.Popen(cli("run", "--inbox", str(inbox), "--period", period, "--warehouse", str(wh)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in first.stdout:
        if "✓ inbox_files" in line:
            break
    second = subprocess.run(cli("run", "--inbox", str(inbox), "--period", period, "--warehouse", str(wh)),
                            capture_output=True, text=True, timeout=300)
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 2 and "another claim run is writing" in second.stderr
    assert second.stderr.strip().count("\n") == 0
    record_reliability("Concurrency", "two `claimrecon run` processes for the same warehouse at once", 1,
                       "the second is refused with one line; the first completes; never two writers")


# ================================================================ issue 13: hostile inbox files, round 2
# Each defect of issue 13 has a test below that failed before the fix. `ingest_month` runs the same ingest
# functions the Dagster assets run (discovery, registration, every kind's load) on a real DuckDB file:
# fast enough for hypothesis; the full runs go through `claimrecon run`.

import errno  # noqa: E402
import shutil  # noqa: E402

import duckdb  # noqa: E402
import pytest  # noqa: E402

from claimrecon import ingest  # noqa: E402
from claimrecon.errors import ClaimreconError, RunRefused  # noqa: E402

LOG_HEADER = ",".join(fe.columns("service_logs"))
GOOD_NPI = "1234567893"  # the textbook NPI: a valid check digit


def log_line(n: int, narrative: str = "note", **kw) -> str:
    f = dict(zip(fe.columns("service_logs"), GOOD_LOG.split(",")))
    f.update(log_id=f"L{n:06d}", narrative=narrative, **kw)
    return ",".join(f.values())


def ingest_month(inbox: Path, period: str, db: Path) -> Path:
    """The ingest of `inbox_files` and the six `*_extract` assets, without the rest of the run."""
    from claimrecon.paths import PROCEDURE_CODES
    from claimrecon.warehouse import Warehouse
    wh = Warehouse(db)
    wh.begin(period)
    with wh.connect(period) as con:
        ingest.clear_period(con, period)
        keys = ingest.load_procedure_codes(con, period, PROCEDURE_CODES)
        plan = ingest.register_files(con, inbox, period, ingest.discover(inbox, period))
        for kind in ingest.KINDS:
            ingest.load_kind(con, inbox, period, kind, plan, keys)
    return wh.staging_path(period)


def conservation(db: Path, period: str) -> dict[str, tuple]:
    """Per input file: (status, detail lines, loaded, rejected, reason), after checking that the counts
    are those of the rows actually in the tables and that a file not read carries its reason."""
    out = {}
    with ro(db) as con:
        for name, kind, status, detail, loaded, rejected, reason in con.execute(
                "SELECT source_file, kind, status, detail_lines, loaded_rows, rejected_rows, reason FROM input_files "
                "WHERE period = ? ORDER BY 1", [period]).fetchall():
            if status == "loaded":
                table = ingest.KINDS[kind].table
                assert con.execute(f"SELECT count(*) FROM {table} WHERE period = ? AND source_file = ?",
                                   [period, name]).fetchone()[0] == loaded, name
                assert con.execute("SELECT count(*) FROM rejected_records WHERE period = ? AND source_file = ?",
                                   [period, name]).fetchone()[0] == rejected, name
                assert loaded + rejected == detail, name
            else:
                assert reason, f"{name} not read, and no reason recorded"
            out[name] = (status, detail, loaded, rejected, reason)
    return out


def small_month(root: Path, period: str = "2026-01") -> Path:
    """A month of one good claim line and nothing else: the base the single-defect tests add to."""
    base = root / "inbox" / period
    (base / "claims").mkdir(parents=True)
    good = f"2026010100001|1|0||2026-01-10|{GOOD_NPI}|12345678|H2014|UC U3|2025-12-10|4|38.00|12|F84.0"
    cols = fe.columns("claims")[:len(good.split("|"))]  # the columns it names (others, e.g. revision 2's, come back empty)
    (base / "claims" / "c.txt").write_text("|".join(cols) + "\n" + good + "\nTRL|1|38.00\n")
    for sub in ("service_logs", "reference", "authorizations"):
        (base / sub).mkdir()
    return root / "inbox"


def test_cr_only_service_log_is_read_record_by_record(tmp_path):
    """Defect 1: a log file with CR-only line endings was one header line, loaded with 0 rows."""
    inbox = small_month(tmp_path)
    lines = [LOG_HEADER] + [log_line(i) for i in range(1, 6)]
    (inbox / "2026-01" / "service_logs" / "mac.csv").write_bytes("\r".join(lines).encode() + b"\r")
    more = [log_line(i) for i in range(11, 14)]  # other log ids: a repeated key would be FE-VALUE
    (inbox / "2026-01" / "service_logs" / "mixed.csv").write_bytes(
        (lines[0] + "\r\n" + more[0] + "\r" + more[1] + "\n" + more[2]).encode())
    got = conservation(ingest_month(inbox, "2026-01", tmp_path / "w.duckdb"), "2026-01")
    assert got["2026-01/service_logs/mac.csv"][:4] == ("loaded", 5, 5, 0)
    assert got["2026-01/service_logs/mixed.csv"][:4] == ("loaded", 3, 3, 0)


def test_unterminated_quote_costs_exactly_one_record(tmp_path):
    """Defect 2: `"upset, said no` without its closing quote swallowed the records after it."""
    inbox = small_month(tmp_path)
    body = [log_line(1), log_line(2, '"upset, said no'), log_line(3), log_line(4, '"two\nlines, quoted"'), log_line(5)]
    (inbox / "2026-01" / "service_logs" / "q.csv").write_text(LOG_HEADER + "\n" + "\n".join(body) + "\n")
    db = ingest_month(inbox, "2026-01", tmp_path / "w.duckdb")
    got = conservation(db, "2026-01")
    assert got["2026-01/service_logs/q.csv"][:4] == ("loaded", 5, 4, 1)
    with ro(db) as con:
        rej = con.execute("SELECT row_number, rule_id, message FROM rejected_records WHERE source_file LIKE '%q.csv'").fetchall()
        loaded = dict(con.execute("SELECT log_id, narrative FROM contacts WHERE source_file LIKE '%q.csv'").fetchall())
    assert rej == [(3, "FE-PARSE", "unterminated quote: a quoted field never ends; this line was not read")]
    assert loaded == {"L000001": "note", "L000003": "note", "L000004": "two\nlines, quoted", "L000005": "note"}


def test_trailer_line_inside_a_csv_is_rejected_not_dropped(tmp_path):
    """Defect 5: `TRL,…` in a CSV (read by the quoted-field path) vanished without a reject."""
    inbox = small_month(tmp_path)
    body = [log_line(1, '"quoted\nline break"'), "TRL,2,0", log_line(2)]  # read by the quoted-field path
    (inbox / "2026-01" / "service_logs" / "t.csv").write_text(LOG_HEADER + "\n" + "\n".join(body) + "\n")
    (inbox / "2026-01" / "service_logs" / "u.csv").write_text(LOG_HEADER + "\n" + log_line(3) + "\nTRL,1,0\n")
    db = ingest_month(inbox, "2026-01", tmp_path / "w.duckdb")
    got = conservation(db, "2026-01")
    assert got["2026-01/service_logs/t.csv"][:4] == ("loaded", 3, 2, 1)
    assert got["2026-01/service_logs/u.csv"][:4] == ("loaded", 2, 1, 1)
    with ro(db) as con:
        assert con.execute("SELECT count(*) FROM rejected_records WHERE raw_record LIKE 'TRL,%' AND rule_id = 'FE-PARSE'"
                           ).fetchone()[0] == 2


def test_a_file_that_changes_after_registration_is_refused(tmp_path):
    """Defect 6: the recorded SHA-256 was the registered one, not that of the bytes loaded."""
    from claimrecon.paths import PROCEDURE_CODES
    from claimrecon.warehouse import Warehouse
    inbox = small_month(tmp_path)
    log = inbox / "2026-01" / "service_logs" / "evv.csv"
    log.write_text(LOG_HEADER + "\n" + log_line(1) + "\n")
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.begin("2026-01")
    with wh.connect("2026-01") as con:
        keys = ingest.load_procedure_codes(con, "2026-01", PROCEDURE_CODES)
        plan = ingest.register_files(con, inbox, "2026-01", ingest.discover(inbox, "2026-01"))
        log.write_text(LOG_HEADER + "\n" + log_line(1) + "\n" + log_line(2) + "\n")  # still being written
        with pytest.raises(RunRefused, match="evv.csv: the file changed after the run registered it"):
            ingest.load_kind(con, inbox, "2026-01", "service_logs", plan, keys)
        ingest.load_kind(con, inbox, "2026-01", "claims", plan, keys)  # an unchanged file loads
        assert con.execute("SELECT count(*) FROM claims").fetchone()[0] == 1


def _odd_entries(month: Path, outside: Path) -> None:
    (month / "claims" / "second.TXT").write_text((month / "claims" / "c.txt").read_text()
                                                 .replace("2026010100001|", "2026010100002|"))
    outside.write_text("secret\n")
    (month / "claims" / "link.txt").symlink_to(outside)
    (month / "service_logs" / "inside_link.csv").symlink_to(month / "claims" / "c.txt")
    (month / "service_logs" / "EVV.CSV").write_text(LOG_HEADER + "\n" + log_line(1) + "\n")
    (month / "service_logs" / "notes.xlsx").write_bytes(b"PK\x03\x04binary")
    (month / "service_logs" / "sub").mkdir()
    (month / "service_logs" / "sub" / "evv.csv").write_text(LOG_HEADER + "\n")
    (month / "service_logs" / "empty.csv").write_bytes(b"")
    (month / "service_logs" / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (month / "reference" / "Recipients.CSV").write_text("recipient_id,birth_date,waiver_program,span_start,span_end,"
                                                        "living_arrangement,sleep_start,sleep_end\n"
                                                        "12345678,1980-01-01,CADI,2024-01-01,,own_home,,\n")
    (month / "reference" / "extra.csv").write_text("a\n")
    (month / "readme.txt").write_text("hello")
    (month / "misc").mkdir()
    os.mkfifo(month / "service_logs" / "pipe.csv")


def test_every_entry_of_the_month_folder_is_read_or_refused_with_its_reason(tmp_path):
    """Defect 3: `*.TXT` and symlinks were skipped without a word. Names match case-insensitively; links
    are refused and never followed; every other entry is in input_files with its reason."""
    inbox = small_month(tmp_path)
    month = inbox / "2026-01"
    _odd_entries(month, tmp_path / "outside.txt")
    got = conservation(ingest_month(inbox, "2026-01", tmp_path / "w.duckdb"), "2026-01")
    status = {name.removeprefix("2026-01/"): (s, reason) for name, (s, _d, _l, _r, reason) in got.items()}
    assert status["claims/second.TXT"][0] == "loaded" and got["2026-01/claims/second.TXT"][2] == 1
    assert status["service_logs/EVV.CSV"][0] == "loaded"
    assert status["reference/Recipients.CSV"][0] == "loaded"
    assert status["claims/link.txt"] == ("refused", "a symbolic link that leads outside the inbox: refused, not followed")
    assert status["service_logs/inside_link.csv"][0] == "refused" and "symbolic link" in status["service_logs/inside_link.csv"][1]
    assert "does not match *.csv" in status["service_logs/notes.xlsx"][1]
    assert "a folder inside service_logs/" in status["service_logs/sub"][1]
    assert status["service_logs/empty.csv"] == ("loaded", "the file is empty")
    assert status["service_logs/binary.csv"][1] == "the header names none of the expected columns"
    assert "not a regular file" in status["service_logs/pipe.csv"][1]
    assert "does not match" in status["reference/extra.csv"][1]
    assert status["readme.txt"][0] == status["misc"][0] == "refused"
    assert len(status) == 14  # every entry of the month's folder, each once


def test_a_month_whose_claims_cannot_be_read_is_refused_not_published_empty(tmp_path):
    """Defect 3: a month whose only claims file was skipped published zero claim lines, wiping the month."""
    inbox = small_month(tmp_path)
    claims = inbox / "2026-01" / "claims" / "c.txt"
    shutil.move(claims, tmp_path / "c.txt")
    claims.symlink_to(tmp_path / "c.txt")
    with pytest.raises(RunRefused, match=r"no claims file of 2026-01 can be read \(2026-01/claims/c.txt: a symbolic "
                                         r"link that leads outside the inbox: refused, not followed\)"):
        ingest_month(inbox, "2026-01", tmp_path / "w.duckdb")


BAD_VALUES = [  # (kind, column, value, rule): each costs its one record
    ("claims", "units", "8\u0661", "FE-PARSE"), ("claims", "billed_amount", "\uff17\uff16.\uff10\uff10", "FE-PARSE"),
    ("claims", "line_no", "\u0661", "FE-PARSE"), ("claims", "recipient_id", "1234567\u0668", "FE-FORMAT"),
    ("claims", "service_date", "2025-12-\u0661\u0660", "FE-PARSE"), ("claims", "units", "1.005", "FE-PARSE"),
    ("claims", "billed_amount", "99999999999.00", "FE-VALUE"), ("claims", "line_no", "99999999999", "FE-FORMAT"),
    ("authorizations", "authorized_units", "\u0661\u0662\u0660", "FE-PARSE"),
    ("authorizations", "authorized_units", "10.125", "FE-PARSE"),
    ("service_logs", "minutes", "\u0666\u0660", "FE-PARSE"), ("service_logs", "start_time", "\u0669:00", "FE-PARSE"),
    ("service_logs", "minutes", "99999999999", "FE-VALUE"),
    ("staff", "postsecondary_years", "12345", "FE-VALUE"), ("staff", "training_hours_12m", "1234567", "FE-VALUE"),
    ("staff", "qualifying_experience_months", "\uff12\uff14", "FE-PARSE"),
    ("recipients", "sleep_start", "25:61", "FE-FORMAT"), ("recipients", "sleep_end", "2\u0662:00", "FE-FORMAT"),
    ("recipients", "birth_date", "1980-\u0660\u0661-01", "FE-PARSE"),
]
GOOD = {
    "claims": f"2026010200009|1|0||2026-01-10|{GOOD_NPI}|12345678|H2014|UC U3|2025-12-10|4|38.00|12|F84.0",
    "authorizations": f"7000000001|1|A|A|12345678|{GOOD_NPI}|H2014|UC U3|2024-01-01|2028-12-31|3000|9.50|CADI|0|",
    "service_logs": GOOD_LOG,
    "staff": f"S1,{GOOD_NPI},direct_support,2021-01-01,,2020-12-15,Y,24,0,,16",
    "recipients": "12345678,1980-05-17,CADI,2024-01-01,2028-12-31,own_home,22:00,06:00",
}


def _file_with(kind: str, rows: list[dict]) -> tuple[str, bytes]:
    """A file of `kind` in the default layout holding `rows` (column -> value), with its trailer."""
    from decimal import Decimal
    k = ingest.KINDS[kind]
    cols = fe.columns(kind)
    lines = [k.sep.join(r[c] for c in cols) for r in rows]
    text = k.sep.join(cols) + "\n" + "\n".join(lines) + "\n"
    if k.trailer_total:
        total = sum((Decimal(r[k.trailer_total]) for r in rows if r[k.trailer_total].isascii()), Decimal(0))
        text += f"TRL|{len(rows)}|{total}\n"
    name = {"staff": "reference/staff.csv", "recipients": "reference/recipients.csv"}.get(kind, f"{k.folder}/h.{k.pattern[2:]}")
    return name, text.encode()


def _rows(kind: str, n: int) -> list[dict]:
    cols = fe.columns(kind)
    base = dict.fromkeys(cols, "")  # columns GOOD does not give (revision 2's optional ones) left empty
    base.update(zip(cols, GOOD[kind].split(ingest.KINDS[kind].sep)))
    key = {"claims": "icn", "authorizations": "sa_number", "service_logs": "log_id", "staff": "staff_id",
           "recipients": "recipient_id"}[kind]
    out = []
    for i in range(n):
        r = dict(base)
        r[key] = base[key][:-2] + f"{i:02d}" if kind != "service_logs" else f"L{i:05d}"
        out.append(r)
    return out


@pytest.mark.parametrize("kind,column,value,rule", BAD_VALUES, ids=[f"{k}.{c}={v}" for k, c, v, _ in BAD_VALUES])
def test_one_bad_value_costs_one_record_never_the_month(tmp_path, kind, column, value, rule):
    """Defect 4: non-ASCII digits passed `\\d` and failed the cast; values too wide for their column,
    `25:61` as a sleep time: each stopped the whole month (exit 2, no file or row named)."""
    inbox = small_month(tmp_path)
    rows = _rows(kind, 4)
    rows[1][column] = value
    name, data = _file_with(kind, rows)
    (inbox / "2026-01" / name).write_bytes(data)
    db = ingest_month(inbox, "2026-01", tmp_path / "w.duckdb")
    got = conservation(db, "2026-01")
    assert got[f"2026-01/{name}"][:4] == ("loaded", 4, 3, 1)
    with ro(db) as con:
        assert con.execute("SELECT row_number, rule_id FROM rejected_records WHERE source_file = ?",
                           [f"2026-01/{name}"]).fetchall() == [(3, rule)]


# ---------------------------------------------------------------- full runs of a hostile month (defects 4, 9-11)

def add_claim_lines(claims: Path, lines: list[str]) -> None:
    """Append detail lines to a claims file and rewrite its control trailer to match."""
    from decimal import Decimal, InvalidOperation
    text = claims.read_text().splitlines()
    header, body = text[0], text[1:-1]
    body += lines
    i = header.split("|").index("billed_amount")
    total = Decimal(0)
    for ln in body:
        try:
            total += Decimal(ln.split("|")[i]) if ln.split("|")[i].isascii() else 0
        except (InvalidOperation, IndexError):
            pass
    claims.write_text("\n".join([header, *body, f"TRL|{len(body)}|{total}"]) + "\n")


HOSTILE_PROVIDER_IDS = ["$\\frac$", "bad'", "abc", "ABC", "=2+5", "[x]:*?/\\"]
NARRATIVE_PHI = "Zebulon Quarrington cried, said no"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """One `claimrecon run` of a demo month made hostile: 120 lines of 9,999,999,999.99, rejected lines
    whose provider ids are TeX, quotes, case twins and a formula, rejected records full of PHI, and file
    names carrying terminal escapes."""
    from claimrecon.generator import generate
    root = tmp_path_factory.mktemp("hostile_run")
    summary = generate(root / "inbox", months=1, seed=5, scale="demo")
    period = summary["periods"][0]
    month = root / "inbox" / period
    claims = next((month / "claims").glob("*.txt"))
    first = claims.read_text().splitlines()[1].split("|")
    cols = claims.read_text().splitlines()[0].split("|")
    def line(icn, **kw):
        f = dict(zip(cols, first))
        f.update(icn=icn, **kw)
        return "|".join(f.values())
    big = [line(f"2099{i:011d}", billed_amount="9999999999.99") for i in range(120)]
    odd = [line(f"2098{i:011d}", billing_provider_id=pid, billed_amount="9999999.99")
           for i, pid in enumerate(HOSTILE_PROVIDER_IDS)]
    add_claim_lines(claims, big + odd)
    log = sorted((month / "service_logs").glob("evv_*.csv"))[0]
    rows = log.read_text().splitlines()
    f = rows[1].split(",")
    f[-1] = f'"{NARRATIVE_PHI}"'
    f[9] = "\u0666\u0660"  # minutes in Arabic-Indic digits: rejected, with its narrative in raw_record
    (month / "service_logs" / "evv_\x1b]0;pwned\x07\x1b[2J.csv").write_text(rows[0] + "\n" + ",".join(f) + "\n")
    (month / "claims" / "notes\x1b[31m.doc").write_text("x")
    rec = month / "reference" / "recipients.csv"
    r = rec.read_text().splitlines()
    rec.write_text("\n".join(r + [r[1].split(",")[0] + ",1980-02-30," + ",".join(r[1].split(",")[2:])]) + "\n")
    wh = root / "wh" / "claimrecon.duckdb"
    proc = subprocess.run(cli("run", "--inbox", str(root / "inbox"), "--period", period, "--warehouse", str(wh)),
                          capture_output=True, text=True, timeout=600)
    return {"proc": proc, "wh": wh, "period": period, "root": root, "reports": wh.parent / "reports" / period,
            "recipients": [x.split(",")[:2] for x in r[1:]]}


def test_hostile_month_completes(hostile_run):
    p = hostile_run["proc"]
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Traceback" not in p.stdout + p.stderr
    conservation(hostile_run["wh"], hostile_run["period"])


def test_sums_that_would_overflow_are_reported_cleanly(hostile_run):
    """Defect 4: 120 lines of 9,999,999,999.99 overflowed a DECIMAL(14,2) report sum and stopped the month."""
    from decimal import Decimal
    assert hostile_run["proc"].returncode == 0, hostile_run["proc"].stderr[-2000:]
    with ro(hostile_run["wh"]) as con:
        billed = con.execute("SELECT billed_amount FROM runs WHERE period = ?", [hostile_run["period"]]).fetchone()[0]
        view = con.execute("SELECT sum(billed_amount) FROM reconciliation_summary WHERE period = ?",
                           [hostile_run["period"]]).fetchone()[0]
        lines = con.execute("SELECT sum(billed_amount) FROM claim_outcomes WHERE period = ?",
                            [hostile_run["period"]]).fetchone()[0]
    assert billed == view == lines > Decimal("1199999999998.80")
    assert "balanced to the cent" in hostile_run["proc"].stdout


def test_sheet_names_and_chart_labels_from_data_are_safe(hostile_run):
    """Defect 4: provider ids `$\\frac$` (TeX to matplotlib), `bad'` (a sheet name may not end in a quote),
    `abc` beside `ABC` (Excel's sheet names ignore case) stopped the reports."""
    import openpyxl
    from claimrecon.cells import sheet_names
    assert hostile_run["proc"].returncode == 0, hostile_run["proc"].stderr[-2000:]
    wb = openpyxl.load_workbook(hostile_run["reports"] / f"claimrecon_{hostile_run['period']}.xlsx", read_only=True)
    names = wb.sheetnames
    wb.close()
    assert len({n.lower() for n in names}) == len(names)
    assert {"P $_frac$", "P bad", "P ABC", "P abc (2)", "P =2+5", "P _x______"} <= set(names), names
    html = (hostile_run["reports"] / f"claimrecon_{hostile_run['period']}.html").read_text()
    assert "$\\frac$" in html
    assert sheet_names(["abc", "ABC", "'q'", "x" * 40, "[a]:*?/\\", "\x1b[2J"]) == \
        ["P abc", "P ABC (2)", "P 'q", "P " + "x" * 29, "P _a______", "P _2J"]


def test_file_names_and_record_text_reach_the_terminal_escaped(hostile_run):
    """Defect 9: terminal escapes in a file name reached the terminal raw."""
    p = hostile_run["proc"]
    out = p.stdout + p.stderr
    assert "\x1b]" not in out and "\x1b[2J" not in out and "\x1b[31m" not in out and "\x07" not in out
    assert "notes\\x1b[31m.doc: the name does not match *.txt" in out
    from claimrecon.errors import printable
    assert printable("a\x1b[2Jb\nc\u202ed\\") == "a\\x1b[2Jb\\nc\\u202ed\\\\"


def test_formulas_are_escaped_in_every_text_cell_of_the_remittance(hostile_run):
    """Defect 10: `=2+5` as a rejected line's billing_provider_id reached the remittance CSV unescaped."""
    import csv as csvmod
    rows = [r for p in (hostile_run["reports"] / "remittance").glob("*.csv") for r in csvmod.DictReader(p.open())]
    ids = {r["billing_provider_id"] for r in rows}
    assert "'=2+5" in ids and "=2+5" not in ids
    from claimrecon.cells import FORMULA_START
    # a number (a reversal's negative amount) is a number, not text a spreadsheet would run as a formula
    number = __import__("re").compile(r"-?[0-9]+(\.[0-9]+)?")
    assert not any(v.startswith(FORMULA_START) for r in rows for v in r.values() if v and not number.fullmatch(v))


def _report_texts(folder: Path) -> str:
    import openpyxl
    wb = openpyxl.load_workbook(next(folder.glob("*.xlsx")), read_only=True)
    cells = "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                      if v is not None)
    cells = "\n".join(wb.sheetnames) + "\n" + cells
    wb.close()
    return cells + "\n" + next(folder.glob("*.html")).read_text()


def test_phi_is_masked_inside_raw_records_of_the_circulated_reports(hostile_run):
    """Defect 11: the Rejected records sheet printed raw_record with full recipient ids, birth dates and
    narratives. Every recipient id and birth date of the month, and the narrative, searched for."""
    from tests.test_dagster_materialize import scan
    assert hostile_run["proc"].returncode == 0, hostile_run["proc"].stderr[-2000:]
    text = _report_texts(hostile_run["reports"])
    secrets = sorted({s for pair in hostile_run["recipients"] for s in pair} | {"Zebulon", "Quarrington", "1980-02-30"})
    with ro(hostile_run["wh"]) as con:
        raws = [r[0] for r in con.execute("SELECT raw_record FROM rejected_records WHERE period = ?",
                                          [hostile_run["period"]]).fetchall()]
    assert any("Zebulon" in r for r in raws) and any("1980-02-30" in r for r in raws)  # the warehouse keeps them
    assert "Rejected records" in text and "•" in text
    assert scan(text, secrets) == []
    record_reliability("PHI", f"a hostile month's workbook and HTML (rejected records' raw text included) searched for "
                       f"{len(secrets)} recipient ids, birth dates and narrative words", len(secrets), "none found",
                       leaks=0)


def test_mask_raw_record_by_position_and_by_pattern():
    from claimrecon.cells import mask_raw_record
    log = log_line(1, '"Zebulon said no, then left"', recipient_id="12345678")
    masked = mask_raw_record("service_logs", log)
    assert "12345678" not in masked and "Zebulon" not in masked and "L000001" in masked and "2026-••-••" in masked
    short = "L9,12345678,Zebulon cried and left"  # not the known layout: patterns and free text
    assert mask_raw_record("service_logs", short) == "L9,••••••••,••••"
    assert mask_raw_record("claims", "2026|1|0||2026-01-10|1234567893|87654321|H2014") == \
        "2026|1|0||2026-••-••|••••••••••|••••••••|H2014"
    assert mask_raw_record(None, "dob 01/02/1980 id 1234567890123") == "dob ••/••/1980 id •••••••••••••"


# ---------------------------------------------------------------- publishing is one switch (defect 7)

CRASH = r"""
import os, sys
os.umask(0o077)
from claimrecon import warehouse as w
n, calls = int(sys.argv[4]), [0]
names = sys.argv[5].split()
real = {f: getattr(os, f) for f in names}
orig = w.Warehouse.publish
def publish(self, *a, **k):
    def wrap(f):
        def g(*x, **y):
            calls[0] += 1
            if calls[0] == n:
                os._exit(9)  # a crash: no finally, no clean-up
            return real[f](*x, **y)
        return g
    for f in real:
        setattr(os, f, wrap(f))
    return orig(self, *a, **k)
w.Warehouse.publish = publish
from claimrecon.runner import run_period
run_period(sys.argv[1], sys.argv[2], sys.argv[3])
"""


def _published(wh: Path, period: str) -> tuple:
    with ro(wh) as con:
        n = con.execute("SELECT count(*) FROM claim_outcomes WHERE period = ?", [period]).fetchone()[0]
    return n, reports.digest(wh.parent / "reports" / period)


def test_a_crash_at_any_instant_of_the_publish_leaves_a_matching_warehouse_and_reports(demo_copy, tmp_path):
    """Defect 7: a kill between replacing the warehouse and replacing the reports left new data beside old
    reports (or no reports folder). The publish now crashes at each of its renames and links in turn: the
    warehouse and reports readers see are always one pair, old or new, and the next run completes."""
    inbox, wh, (p1, p2) = demo_copy["inbox"], demo_copy["warehouse"], demo_copy["periods"]
    for p in (p1, p2):  # demo_copy's warehouse is a plain file without reports: the first run moves it in
        subprocess.run(cli("run", "--inbox", str(inbox), "--period", p, "--warehouse", str(wh)), check=True,
                       capture_output=True, timeout=300)
    assert wh.is_symlink() and (wh.parent / "reports").is_symlink()
    old, month1 = _published(wh, p2), reports.digest(wh.parent / "reports" / p1)
    claims = next((inbox / p2 / "claims").glob("*.txt"))
    add_claim_lines(claims, ["2099|1|junk"])  # the new run differs from the old by one rejected line
    seen, n = [], 0
    # while building the version (the first hard link), at every rename and link in turn (until the run
    # gets past the last one), and after the switch (the first folder removed when tidying)
    for calls, ks in (("link", [1]), ("replace symlink rename", range(1, 50)), ("rmdir", [1])):
        for k in ks:
            n += 1
            proc = subprocess.run([sys.executable, "-c", CRASH, str(inbox), p2, str(wh), str(k), calls],
                                  capture_output=True, text=True, timeout=300)
            state = _published(wh, p2)
            assert reports.digest(wh.parent / "reports" / p1) == month1  # the other month's reports stay
            seen.append(state)
            if proc.returncode == 0:
                break  # no such call left: the run completed
            assert proc.returncode == 9, proc.stderr[-2000:]
            assert state == old or state[0] == old[0] + 1, f"crash at call {k} of {calls}: warehouse and reports disagree"
    subprocess.run(cli("run", "--inbox", str(inbox), "--period", p2, "--warehouse", str(wh)), check=True,
                   capture_output=True, timeout=300)
    seen.append(_published(wh, p2))
    new = seen[-1]
    assert new[0] == old[0] + 1 and new[1] != old[1]
    assert all(s in (old, new) for s in seen), seen  # always one pair, never a mix
    assert old in seen[:-1] and new in seen[:-1]  # crashes before and after the switch were both tried
    versions = list((wh.parent / ".claimrecon.duckdb.published" / "versions").iterdir())
    assert len(versions) == 1  # half-built versions rolled back, old ones tidied
    record_reliability("Crash safety", "a crash (os._exit) at each rename and link of the publish and while it "
                       "hard-links the other months' reports, "
                       "then the next run", n, "the warehouse and reports readers see are always one pair, old "
                       "or new; the next run completes; the other months' reports stay")


def test_the_published_paths_stay_stable_for_readers(demo):
    """The README's path and `claimrecon run`'s output keep working: the warehouse path opens the current
    version; `reports/<YYYY-MM>/` holds every month's reports."""
    wh = demo["warehouse"]
    assert wh.is_symlink() and os.readlink(wh) == ".claimrecon.duckdb.published/current/claimrecon.duckdb"
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT period) FROM claim_outcomes").fetchone()[0] == 2
    for p in demo["periods"]:
        assert (wh.parent / "reports" / p / f"claimrecon_{p}.xlsx").is_file()


# ---------------------------------------------------------------- refusals in words (defect 8)

def test_a_damaged_warehouse_file_is_refused_in_words(demo_copy):
    wh = demo_copy["warehouse"]
    wh.write_bytes(b"this is not a database" * 100)
    before = sha(wh)
    proc = subprocess.run(cli("run", "--inbox", str(demo_copy["inbox"]), "--period", demo_copy["periods"][0],
                              "--warehouse", str(wh)), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert f"the warehouse file {wh} is not a DuckDB database or is damaged" in proc.stderr
    assert sha(wh) == before


def test_an_unreadable_inbox_file_is_refused_in_words(tmp_path, monkeypatch):
    inbox = small_month(tmp_path)
    def denied(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr(ingest, "sha256_of", denied)
    with pytest.raises(RunRefused, match=r"^2026-01/claims/c.txt: permission denied: the file cannot be read$"):
        ingest_month(inbox, "2026-01", tmp_path / "w.duckdb")


def test_a_full_disk_is_refused_in_words(demo_copy, monkeypatch):
    from claimrecon import reports as reports_mod
    from claimrecon import warehouse as wmod
    from claimrecon.runner import run_period
    inbox, wh, period = demo_copy["inbox"], demo_copy["warehouse"], demo_copy["periods"][0]
    import types
    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", a[1] if len(a) > 1 else "x")
    # the warehouse's own copy finds the disk full (a namespace, so other modules' shutil stays whole)
    monkeypatch.setattr(wmod, "shutil", types.SimpleNamespace(**{**vars(shutil), "copyfile": full}))
    with pytest.raises(ClaimreconError, match="cannot copy the warehouse .*: the disk is full$"):
        run_period(inbox, period, wh)
    monkeypatch.undo()
    def full_reports(con, period, folder, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "claimrecon.xlsx"))
    monkeypatch.setattr(reports_mod, "build", full_reports)
    with pytest.raises(ClaimreconError, match=r"the run failed at reports: the disk is full \(.*claimrecon.xlsx\); "
                                              "nothing was published"):
        run_period(inbox, period, wh)


# ---------------------------------------------------------------- debug output and permissions (defect 12)

DEBUG_CRASH = r"""
import sys
import duckdb
from claimrecon import judge
def crash(con, period, p):
    pmi = con.execute("SELECT recipient_id FROM claims LIMIT 1").fetchone()[0]
    month = con.execute("SELECT * FROM claims").fetchall()  # a large local, as a real step has
    raise duckdb.ConversionException(f"Could not convert string '{pmi}' to INT32")
judge.claim_outcomes = crash
sys.argv = ["claimrecon", "run", "--inbox", sys.argv[1], "--period", sys.argv[2], "--warehouse", sys.argv[3]]
from claimrecon.cli import main
main()
"""


def test_debug_mode_reports_briefly_without_phi(demo_copy):
    """Defect 12: with CLAIMRECON_DEBUG=1 an unexpected error (here a conversion error quoting a recipient id,
    raised in the claim_outcomes step) printed a traceback with every local for over 10 minutes."""
    inbox, wh, period = demo_copy["inbox"], demo_copy["warehouse"], demo_copy["periods"][0]
    claims = next((inbox / period / "claims").glob("*.txt"))
    ids = {x for ln in claims.read_text().splitlines()[1:-1] if len(x := ln.split("|")[6]) == 8}
    assert len(ids) > 20
    env = {**os.environ, "CLAIMRECON_DEBUG": "1"}
    proc = subprocess.run([sys.executable, "-c", DEBUG_CRASH, str(inbox), period, str(wh)],
                          capture_output=True, text=True, timeout=300, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2
    assert len(out) < 40_000
    assert "claimrecon: failed: ConversionException (details withheld" in proc.stderr
    assert "claim_run.py" in proc.stderr and "in judged_claims" in proc.stderr  # where it happened
    assert not any(i in out for i in ids)


def test_debug_mode_still_refuses_in_one_line(demo_copy):
    inbox, wh, period = demo_copy["inbox"], demo_copy["warehouse"], demo_copy["periods"][0]
    claims = next((inbox / period / "claims").glob("*.txt"))
    claims.write_text(claims.read_text().rsplit("TRL", 1)[0])  # no trailer: refused inside the Dagster run
    proc = subprocess.run(cli("run", "--inbox", str(inbox), "--period", period, "--warehouse", str(wh)),
                          capture_output=True, text=True, timeout=300, env={**os.environ, "CLAIMRECON_DEBUG": "1"})
    assert proc.returncode == 2
    assert proc.stderr == (f"claimrecon: refused: {period}/claims/{claims.name}: FE-CONTROL: the control trailer "
                           "(TRL|count|total) is missing; the file was refused\n")


def test_the_dagster_path_writes_owner_only_whatever_the_umask(demo, tmp_path):
    """Defect 12: under `dagster dev` (umask 022) 51 paths were group/world readable."""
    inbox = tmp_path / "inbox"
    shutil.copytree(demo["inbox"] / demo["periods"][0], inbox / demo["periods"][0])
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    env = {**os.environ, "CLAIMRECON_INBOX": str(inbox), "CLAIMRECON_WAREHOUSE": str(wh),
           "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(["sh", "-c", 'umask 022 && exec "$0" "$@"', str(dagster), "job", "execute", "-m",
                           "pipelines.definitions", "-j", "monthly_claim_run", "--tags",
                           '{"dagster/partition": "%s"}' % demo["periods"][0]],
                          capture_output=True, text=True, timeout=600, env=env, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    paths = [p for p in wh.parent.rglob("*") if not p.is_symlink()]
    assert len(paths) > 20
    loose = [str(p) for p in paths if p.stat().st_mode & 0o077]
    assert loose == []
    record_reliability("PHI", "permissions of every path a `dagster job execute` run under umask 022 wrote",
                       len(paths), "owner-only (0600 files, 0700 folders)")


# ---------------------------------------------------------------- the hostile-inbox suite: conservation for every file kind

import json  # noqa: E402

CORPUS_DIR = Path(__file__).parent / "hostile"
CORPUS = json.loads((CORPUS_DIR / "cases.json").read_text())


@pytest.mark.parametrize("case", CORPUS, ids=[c["file"] for c in CORPUS])
def test_hostile_corpus_file_in_a_whole_run(tmp_path, case):
    """Each hand-written hostile file (tests/hostile/, see make_corpus.py) in a month of its own, through the
    whole Dagster job: the run completes (no single record aborts it), the file's detail records are exactly
    loaded + rejected with the counts written by hand, or the file is refused with its reason; every other
    input file of the month conserves its records too."""
    from claimrecon.runner import run_period
    inbox = small_month(tmp_path)
    dest = inbox / "2026-01" / case["file"]
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CORPUS_DIR / case["file"], dest)
    aborted = 0
    try:
        result = run_period(inbox, "2026-01", tmp_path / "wh" / "claimrecon.duckdb")
    except ClaimreconError as e:
        aborted = 1
        pytest.fail(f"the run was aborted: {e}")
    got = conservation(result.warehouse, "2026-01")
    status, detail, loaded, rejected, reason = got[f"2026-01/{case['file']}"]
    if case["refused"]:
        assert status == "refused" and case["refused"] in reason
        assert (f"2026-01/{case['file']}", "refused", reason) in result.not_read  # shown in the run summary
    else:
        assert status == "loaded"
        if case["records"] is not None:
            assert detail == case["records"]
        assert loaded == case["loaded"]
    with ro(result.warehouse) as con:
        rules = {r[0] for r in con.execute("SELECT DISTINCT rule_id FROM rejected_records").fetchall()}
        claim_lines = con.execute("SELECT count(*) FROM claim_outcomes WHERE row_type = 'line'").fetchone()[0]
        claim_detail = con.execute("SELECT sum(detail_lines) FROM input_files WHERE kind = 'claims' AND status = 'loaded'"
                                   ).fetchone()[0]
    assert all(r.startswith("FE-") for r in rules)
    assert claim_lines == claim_detail  # every claim-file detail line has its outcome (loaded or rejected)
    # records lost: by the hand count where the file has one (random bytes have none: conservation() above)
    lost = case["records"] - (loaded + rejected) if case["records"] is not None and not case["refused"] else 0
    assert lost == 0
    record_reliability("Hostile input", "hand-written hostile files (tests/hostile/: line endings, broken quotes, "
                       "TRL lines, non-ASCII digits, widths, bad times, invalid UTF-8, NUL, field counts, formulas, "
                       "SQL, terminal escapes, a 210 KB field, odd headers, empty, random bytes, odd names), each in "
                       "a whole run of its own", 1, "every run completed; each file's records = loaded + rejected "
                       "with the hand-counted figures, or the file refused with its reason in input_files and the "
                       "run summary", aborted=aborted, lost=lost)


FIELD_MUTATIONS = st.one_of(
    st.sampled_from(["\u0661\u0662", "\uff17\uff16.\uff10\uff10", "99999999999999", "1e309", "NaN", "-0", "+5", "1.005",
                     "25:61", "2026-02-30", "0000-00-00", "=2+5", "@SUM(A1)", "'; DROP TABLE claims; --", "\x00",
                     "\x1b[2J", "\u202e", "$\\frac$", "bad'", " ", "١٢٠", "９:００", "x" * 5000]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
    st.integers(min_value=-10**20, max_value=10**20).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, places=3).map(str),
)


def _hostile_rows(kind, n, mutations, sep):
    """n rows of `kind`; the rows named in `mutations` get one non-key field replaced by hostile text."""
    rows = _rows(kind, n)
    cols = fe.columns(kind)
    total = ingest.KINDS[kind].trailer_total
    key = set(fe.KEYS[kind]) | ({total} if total else set())
    free = [c for c in cols if c not in key]
    bad = set()
    for (i, j, value) in mutations:
        i %= n
        if sep == "|":  # a pipe extract's line count and control total must still be right (else FE-CONTROL)
            value = value.replace("|", "/").replace("\n", " ").replace("\r", " ")
        rows[i][free[j % len(free)]] = value
        bad.add(i)
    return rows, bad


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["claims", "service_logs", "staff", "recipients", "authorizations"]),
       st.integers(min_value=2, max_value=12),
       st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), FIELD_MUTATIONS), max_size=6))
def test_hostile_records_cost_only_themselves(tmp_path_factory, kind, n, mutations):
    """Hypothesis over every file kind: valid records with hostile values in any non-key field, read,
    edited and inserted into a real DuckDB file. No exception; the file's detail records = loaded +
    rejected; every record left untouched is loaded (one bad record never costs another)."""
    root = tmp_path_factory.mktemp("hyp")
    inbox = small_month(root)
    sep = ingest.KINDS[kind].sep
    rows, bad = _hostile_rows(kind, n, mutations, sep)
    name, data = _file_with(kind, rows)
    (inbox / "2026-01" / name).write_bytes(data)
    db = ingest_month(inbox, "2026-01", root / "w.duckdb")
    got = conservation(db, "2026-01")[f"2026-01/{name}"]
    key = fe.KEYS[kind][0]
    with ro(db) as con:
        table = ingest.KINDS[kind].table
        loaded_keys = {r[0] for r in con.execute(f"SELECT {key} FROM {table} WHERE source_file = ?",
                                                 [f"2026-01/{name}"]).fetchall()}
    good = {r[key] for i, r in enumerate(rows) if i not in bad}
    lost = len(good - loaded_keys)
    assert lost == 0, f"{lost} untouched record(s) not loaded"
    assert got[0] == "loaded"
    record_reliability("Hostile input", "hypothesis: valid records of every file kind with hostile values (non-ASCII "
                       "digits, widths, non-finite numbers, bad dates and times, quotes, line breaks, NUL, escapes, "
                       "formulas, SQL, random text) in any non-key field, through read, FE contract, cast check and "
                       "insert into DuckDB", 1, "no exception; detail records = loaded + rejected; every untouched "
                       "record loaded", lost=lost)


def test_the_inbox_sensor_sees_an_upper_case_claims_file(tmp_path, monkeypatch):
    """Defect 3, the sensor's side: a month whose claims file is `*.TXT` starts its run like any other."""
    import dagster as dg
    from pipelines.definitions import inbox_month_sensor
    (tmp_path / "2026-03" / "claims").mkdir(parents=True)
    (tmp_path / "2026-03" / "claims" / "MMIS.TXT").write_text("h\n")
    (tmp_path / "2026-04" / "claims").mkdir(parents=True)  # no claims file yet: no run
    monkeypatch.setenv("CLAIMRECON_INBOX", str(tmp_path))
    requests = list(inbox_month_sensor(dg.build_sensor_context()))
    assert [r.partition_key for r in requests] == ["2026-03"]


def _assert_batch_is_one_by_one(paths, cols, sep=","):
    """Reading files together (read_files) gives each file exactly what reading it alone gives; returns the batch."""
    from claimrecon.readers import read_files

    batch = read_files(paths, cols, sep, trailer=False)
    for i, path in enumerate(paths):
        alone = read_delimited(path, cols, sep, trailer=False)
        got = batch.files[i]
        assert (got.detail_lines, got.rejects, got.problem, got.header) == \
               (alone.detail_lines, alone.rejects, alone.problem, alone.header)
        rows = batch.rows.filter(batch.rows["_file"] == i).drop("_file")
        assert rows.equals(alone.rows)
        assert rows.height + len(got.rejects) == got.detail_lines
    return batch
