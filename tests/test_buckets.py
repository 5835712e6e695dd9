"""Judging one bucket of people at a time (claimrecon.judge.BUCKET_ROWS) bounds memory on a state's month.
The buckets must not change a single output row: the demo months judged in many small buckets give
exactly the rows of the default single-bucket run."""

import pytest

from claimrecon import judge
from claimrecon.runner import run_period
from tests.conftest import ro

TABLES = ["claim_outcomes", "denial_ledger", "log_billability", "findings", "rejected_records"]


@pytest.fixture(scope="module")
def bucketed(demo, tmp_path_factory):
    wh = tmp_path_factory.mktemp("buckets") / "wh" / "claimrecon.duckdb"
    saved = judge.BUCKET_ROWS
    judge.BUCKET_ROWS = 97  # a demo month (~1,000 lines and contacts) in about a dozen buckets
    try:
        for period in demo["periods"]:
            run_period(demo["inbox"], period, wh)
    finally:
        judge.BUCKET_ROWS = saved
    return wh


def test_the_demo_month_really_is_split(bucketed, demo):
    with ro(bucketed) as con:
        judge.BUCKET_ROWS, saved = 97, judge.BUCKET_ROWS
        try:
            assert judge.bucket_count(con, demo["periods"][0]) >= 8
        finally:
            judge.BUCKET_ROWS = saved
        used = con.execute("SELECT count(DISTINCT _bucket) FROM log_rule_minutes").fetchone()[0]
        assert used >= 8


@pytest.mark.parametrize("table", TABLES)
def test_buckets_give_the_same_rows(bucketed, demo, table):
    with ro(bucketed) as a, ro(demo["warehouse"]) as b:
        for period in demo["periods"]:
            q = f"SELECT * FROM {table} WHERE period = ? ORDER BY ALL"
            rows_a, rows_b = a.execute(q, [period]).fetchall(), b.execute(q, [period]).fetchall()
            assert len(rows_a) > 0
            assert rows_a == rows_b
