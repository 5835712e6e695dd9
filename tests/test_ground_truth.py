"""The generator's demo months reproduce its ground truth for every FE-*, GEN-* and policy rule."""

from collections import Counter

import polars as pl
import pytest

from claimrecon.generator import CLAIM_FAULTS, FE_FAULTS, REV2_CLAIM_FAULTS
from tests.conftest import ro


def _compare(demo, period):
    gt = pl.read_csv(demo["inbox"] / "ground_truth.csv", infer_schema=False).filter(pl.col("period") == period)
    with ro(demo["warehouse"]) as con:
        out = con.sql("SELECT icn, CAST(line_no AS VARCHAR) AS line_no, outcome, coalesce(primary_rule_id, '') AS rule "
                      "FROM claim_outcomes WHERE period = $p AND row_type = 'line'", params={"p": period}).pl()
        rej = con.sql("SELECT source_file, CAST(row_number AS VARCHAR) AS row_number, rule_id FROM rejected_records "
                      "WHERE period = $p", params={"p": period}).pl()
    lines = gt.filter(pl.col("icn").is_not_null()).join(out, on=["icn", "line_no"], how="left")
    records = gt.filter(pl.col("icn").is_null()).join(rej, on=["source_file", "row_number"], how="left")
    return lines, records


@pytest.mark.parametrize("month", [0, 1])
def test_every_claim_line_matches_ground_truth(demo, month):
    lines, _ = _compare(demo, demo["periods"][month])
    assert lines.height > 900
    wrong = lines.filter((pl.col("outcome") != pl.col("expected_outcome"))
                         | (pl.col("rule") != pl.col("expected_rule").fill_null("")))
    assert wrong.height == 0, wrong.head(10)


@pytest.mark.parametrize("month", [0, 1])
def test_every_rejected_record_matches_ground_truth(demo, month):
    _, records = _compare(demo, demo["periods"][month])
    assert records.height >= len(FE_FAULTS) + 3
    assert records.filter(pl.col("rule_id") != pl.col("expected_rule")).height == 0
    assert records["rule_id"].null_count() == 0


def test_every_rule_is_exercised_and_found(demo):
    """Per rule: every expected denial found, and no unexpected one."""
    gt = pl.read_csv(demo["inbox"] / "ground_truth.csv", infer_schema=False)
    expected = set(gt["expected_rule"].drop_nulls().to_list())
    assert set(CLAIM_FAULTS + REV2_CLAIM_FAULTS) - {"GEN-PRICE"} <= expected
    assert set(FE_FAULTS) | {"FE-DUPLICATE-FILE"} <= expected
    with ro(demo["warehouse"]) as con:
        found = dict(con.execute("SELECT primary_rule_id, count(*) FROM claim_outcomes WHERE row_type = 'line' "
                                 "AND primary_rule_id IS NOT NULL GROUP BY 1").fetchall())
        price = con.execute("SELECT count(*) FROM denial_ledger WHERE rule_id = 'GEN-PRICE' AND carc = '45'").fetchone()[0]
    fe_claims = gt.filter(pl.col("source_file").str.contains("/claims/")).group_by("expected_rule").len()
    want = gt.filter(pl.col("icn").is_not_null() & pl.col("expected_rule").is_not_null()).group_by("expected_rule").len()
    # a rule may be expected both on whole lines (e.g. FE-ADJUSTMENT on a replacement) and on raw records
    assert dict(Counter(dict(want.iter_rows())) + Counter(dict(fe_claims.iter_rows()))) == found
    assert price >= 2


def test_voids_and_replacements_reverse_the_original(demo):
    with ro(demo["warehouse"]) as con:
        rows = con.execute("""SELECT o.outcome, o.paid_amount, orig.paid_amount FROM claim_outcomes o
            JOIN claim_outcomes orig ON orig.icn = o.reverses_icn AND orig.line_no = o.line_no AND orig.row_type = 'line'
            WHERE o.outcome IN ('voided', 'replaced') AND o.period = '2026-02' ORDER BY o.icn, o.line_no""").fetchall()
    assert {r[0] for r in rows} == {"voided", "replaced"}
    assert all(r[1] == -r[2] and r[2] > 0 for r in rows)
