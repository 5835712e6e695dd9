"""Balance to the cent, conservation, idempotent re-runs and refusals that leave the warehouse intact."""

import hashlib
from decimal import Decimal

import pytest

from claimrecon.errors import ClaimreconError, WarehouseBusy
from claimrecon.judge import balance_problems
from claimrecon.runner import run_period
from claimrecon.warehouse import Warehouse
from tests.conftest import ro


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_each_period_balances(demo):
    with ro(demo["warehouse"]) as con:
        for period in demo["periods"]:
            assert balance_problems(con, period) == []
            billed, paid, adjusted = con.execute(
                "SELECT sum(billed_amount), sum(paid_amount), sum(adjusted_amount) FROM claim_outcomes WHERE period = ?",
                [period]).fetchone()
            ledger = con.execute("SELECT sum(amount) FROM denial_ledger WHERE period = ?", [period]).fetchone()[0]
            assert billed == paid + ledger == paid + adjusted
            assert isinstance(paid, Decimal)
            types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                     "WHERE table_name = 'claim_outcomes'").fetchall())
            assert types["paid_amount"] == types["billed_amount"] == "DECIMAL(12,2)"


def test_every_claim_file_line_appears_once(demo):
    with ro(demo["warehouse"]) as con:
        for period in demo["periods"]:
            detail = con.execute("SELECT sum(detail_lines) FROM input_files WHERE period = ? AND kind = 'claims'",
                                 [period]).fetchone()[0]
            rows = con.execute("SELECT count(*), count(DISTINCT (source_file, source_row)) FROM claim_outcomes "
                               "WHERE period = ? AND row_type = 'line'", [period]).fetchone()
            assert rows == (detail, detail)


def test_rerun_gives_identical_rows(demo_copy):
    wh, period = demo_copy["warehouse"], demo_copy["periods"][1]
    tables = ["claim_outcomes", "denial_ledger", "rejected_records", "log_billability", "findings"]

    def snapshot():
        with ro(wh) as con:
            return {t: con.execute(f"SELECT * FROM {t} WHERE period = ? ORDER BY ALL", [period]).fetchall() for t in tables}
    before = snapshot()
    run_period(demo_copy["inbox"], period, wh)
    after = snapshot()
    for t in tables:
        assert before[t] == after[t], t
    assert sum(len(v) for v in after.values()) > 1000


def test_truncated_claims_file_refuses_the_run_and_keeps_the_warehouse(demo_copy):
    wh, period = demo_copy["warehouse"], demo_copy["periods"][1]
    claims = next((demo_copy["inbox"] / period / "claims").glob("*.txt"))
    text = claims.read_text().splitlines()
    claims.write_text("\n".join(text[: len(text) // 2]) + "\n")  # cut mid-transfer: no trailer
    before = sha(wh)
    with pytest.raises(ClaimreconError) as e:
        run_period(demo_copy["inbox"], period, wh)
    assert claims.name in str(e.value) and "FE-CONTROL" in str(e.value)
    assert sha(wh) == before


def test_trailer_total_mismatch_is_refused(demo_copy):
    wh, period = demo_copy["warehouse"], demo_copy["periods"][1]
    claims = next((demo_copy["inbox"] / period / "claims").glob("*.txt"))
    lines = claims.read_text().splitlines()
    n, total = lines[-1].split("|")[1:]
    lines[-1] = f"TRL|{n}|{Decimal(total) + 1}"
    claims.write_text("\n".join(lines) + "\n")
    before = sha(wh)
    with pytest.raises(ClaimreconError, match="trailer total"):
        run_period(demo_copy["inbox"], period, wh)
    assert sha(wh) == before


def test_bad_period_and_missing_inbox_are_one_line_errors(tmp_path):
    with pytest.raises(ClaimreconError, match="bad period"):
        run_period(tmp_path, "2026-13", tmp_path / "w.duckdb")
    with pytest.raises(ClaimreconError, match="does not exist"):
        run_period(tmp_path / "nope", "2026-01", tmp_path / "w.duckdb")


def test_a_second_writer_is_refused(demo_copy):
    wh = Warehouse(demo_copy["warehouse"])
    with wh.writer_lock():
        with pytest.raises(WarehouseBusy):
            with Warehouse(demo_copy["warehouse"]).writer_lock():
                pass
        with pytest.raises(ClaimreconError, match="another claim run"):
            run_period(demo_copy["inbox"], demo_copy["periods"][0], demo_copy["warehouse"])


def test_warehouse_is_owner_only(demo):
    assert demo["warehouse"].stat().st_mode & 0o077 == 0
