"""Property: over generated months, every claim line appears once and balances to the cent and unit."""

from hypothesis import HealthCheck, given, settings, strategies as st

from claimrecon.generator import generate
from claimrecon.judge import balance_problems
from claimrecon.runner import run_period
from tests.conftest import ro


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_generated_months_balance_and_conserve(tmp_path_factory, seed):
    root = tmp_path_factory.mktemp(f"prop{seed}")
    s = generate(root / "inbox", months=2, seed=seed, scale="demo")
    wh = root / "w.duckdb"
    for period in s["periods"]:
        run_period(root / "inbox", period, wh)
    with ro(wh) as con:
        for period in s["periods"]:
            assert balance_problems(con, period) == []
            bad = con.execute("""WITH l AS (SELECT source_file, source_row, row_type, sum(units) u, sum(amount) a
                                           FROM denial_ledger WHERE period = $p GROUP BY ALL)
                SELECT count(*) FROM claim_outcomes o LEFT JOIN l USING (source_file, source_row, row_type)
                WHERE o.period = $p AND (o.billed_units <> o.paid_units + coalesce(l.u, 0)
                      OR o.billed_amount <> o.paid_amount + coalesce(l.a, 0))""", {"p": period}).fetchone()[0]
            assert bad == 0
            n, distinct = con.execute("SELECT count(*), count(DISTINCT (source_file, source_row)) FROM claim_outcomes "
                                      "WHERE period = ? AND row_type = 'line'", [period]).fetchone()
            assert n == distinct > 900
