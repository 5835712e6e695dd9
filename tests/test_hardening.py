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
    batch = read_files(paths, cols, ",", trailer=False)
    for i, path in enumerate(paths):
        alone = read_delimited(path, cols, ",", trailer=False)
        got = batch.files[i]
        assert (got.detail_lines, got.rejects, got.problem, got.header) == \
               (alone.detail_lines, alone.rejects, alone.problem, alone.header)
        rows = batch.rows.filter(batch.rows["_file"] == i).drop("_file")
        assert rows.equals(alone.rows)
        assert rows.height + len(got.rejects) == got.detail_lines
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
