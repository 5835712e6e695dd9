"""Property: whatever balanced ledger the warehouse holds — any mix of paid, partial and denied lines, several
ledger rows per line (the same CARC from two rules, zero-amount secondary rules), front-end rejects, reversals
of earlier months and nets below zero — every 835 written from it passes pyx12, reads back through x12sdk,
balances at every level, and the period's ΣCLP04 is the warehouse's paid total."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from claimrecon import x12
from claimrecon.db import run_script
from tests.x12_reader import balance_problems, pyx12_errors, read_835

PROVIDERS = {"1234567893": None, "1234567901": "419999999", "A123456789": "418888888",
             "A987654321": None}  # a UMPI without a tin: no 835, its money still accounted for
CODES = [("CO", "45", ""), ("CO", "198", "N45"), ("CO", "151", ""), ("CO", "96", "N130"), ("OA", "18", "N111"),
         ("CO", "119", "N362"), ("CO", "197", "N54")]
RATES = [Decimal("7.25"), Decimal("9.50"), Decimal("20.00")]
PERIODS = ["2026-01", "2026-02", "2026-03"]

line_st = st.tuples(st.integers(1, 20), st.sampled_from(RATES), st.integers(0, 300),  # units, rate, cents over the rate
                    st.floats(0, 1), st.lists(st.tuples(st.sampled_from(CODES), st.floats(0, 1)), min_size=1, max_size=3),
                    st.booleans(), st.sampled_from(["", "UC", "UC U3", "TF UC U3 U4"]))
claim_st = st.tuples(st.sampled_from(sorted(PROVIDERS)), st.lists(line_st, min_size=1, max_size=3),
                     st.booleans(), st.booleans(), st.sampled_from([None, "PCN-1", "inv 2026/7"]))
month_st = st.tuples(st.lists(claim_st, min_size=1, max_size=4), st.lists(st.integers(0, 50), max_size=3))


def _build(months) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    run_script(con, "schema.sql")
    outcomes, ledger, claims, providers = [], [], [], []
    earlier: list[tuple[str, list[dict]]] = []  # (period, lines) of claims that may be reversed later
    seq = 0
    for period, (month, reversals) in zip(PERIODS, months):
        for pid, tin in PROVIDERS.items():
            providers.append({"period": period, "provider_id": pid, "name": f"Prov {pid}", "tin": tin})
        for k, (pid, lines, rejected_line, zero_row, pcn) in enumerate(month):
            icn = f"{period.replace('-', '')}{k:09d}"
            rows = []
            for n, (units, rate, over, paid_share, adjs, _, mods) in enumerate(lines, start=1):
                seq += 1
                billed = units * rate + Decimal(over) / 100
                paid_units = int(units * paid_share)
                paid = min(billed, paid_units * rate)
                row = {"period": period, "icn": icn, "line_no": n, "row_type": "line", "adjustment_ind": "0",
                       "outcome": "paid" if paid_units == units else ("denied" if paid_units == 0 else "partial"),
                       "billed_units": Decimal(units), "billed_amount": billed, "paid_units": Decimal(paid_units),
                       "paid_amount": paid, "adjusted_amount": billed - paid, "billing_provider_id": pid,
                       "recipient_id": f"{30000000 + k:08d}", "procedure_code": "H2014", "modifiers": mods,
                       "service_date": dt.date(2025, 12, n), "reverses_icn": None, "reverses_period": None,
                       "source_file": f"claims_{period}.txt", "source_row": seq}
                rows.append(row)
                # the adjustment split over the drawn ledger rows, to the cent (the last row takes the rest)
                left, left_units = billed - paid, Decimal(units - paid_units)
                for j, ((g, carc, rarc), share) in enumerate(adjs):
                    amt = left if j == len(adjs) - 1 else (left * Decimal(share)).quantize(Decimal("0.01"))
                    u = left_units if j == len(adjs) - 1 else Decimal(int(left_units * Decimal(share)))
                    left, left_units = left - amt, left_units - u
                    ledger.append({"period": period, "icn": icn, "line_no": n, "row_type": "line", "rule_id": f"R{j}",
                                   "group_code": g, "carc": carc, "rarc": rarc, "units": u, "amount": amt,
                                   "is_primary": j == 0, "source_file": row["source_file"], "source_row": seq})
                if zero_row:  # a secondary rule that fired but took nothing
                    ledger.append({"period": period, "icn": icn, "line_no": n, "row_type": "line", "rule_id": "RZ",
                                   "group_code": "CO", "carc": "96", "rarc": "N130", "units": Decimal(0),
                                   "amount": Decimal(0), "is_primary": False, "source_file": row["source_file"],
                                   "source_row": seq})
                claims.append({"period": period, "icn": icn, "line_no": n, "patient_control_number": pcn})
            outcomes += rows
            earlier.append((period, rows))
            if rejected_line:  # a front-end reject of the same provider: never on an 835
                seq += 1
                outcomes.append(dict(rows[0], icn=icn + "R", outcome="rejected", paid_units=Decimal(0), paid_amount=Decimal(0),
                                     adjusted_amount=rows[0]["billed_amount"], source_row=seq))
        for r in reversals:  # reverse an earlier month's claim (each at most once)
            candidates = [e for e in earlier if e[0] < period and e[1]]
            if not candidates:
                continue
            orig_period, rows = candidates[r % len(candidates)]
            for row in rows:
                seq += 1
                rev = dict(row, period=period, row_type="reversal", adjustment_ind="1", outcome="voided",
                           billed_units=-row["billed_units"], billed_amount=-row["billed_amount"],
                           paid_units=-row["paid_units"], paid_amount=-row["paid_amount"],
                           adjusted_amount=-row["adjusted_amount"], reverses_icn=row["icn"], reverses_period=orig_period,
                           source_row=seq)
                outcomes.append(rev)
                for led in [x for x in ledger if x["period"] == orig_period and x["source_row"] == row["source_row"]
                            and x["row_type"] == "line"]:
                    ledger.append(dict(led, period=period, row_type="reversal", units=-led["units"], amount=-led["amount"],
                                       source_row=seq))
            rows.clear()
    for table, data in (("claim_outcomes", outcomes), ("denial_ledger", ledger), ("claims", claims),
                        ("providers", providers)):
        con.register("_t", pl.DataFrame(data, infer_schema_length=None).to_arrow())
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _t")
        con.unregister("_t")
    return con


NEGATIVE = [  # a paid claim, its void next month (the provider nets below zero), a new claim the month after
    ([("1234567893", [(8, RATES[1], 0, 1.0, [(CODES[0], 0.5)], False, "UC")], False, False, "PCN-1")], []),
    ([("A123456789", [(4, RATES[0], 0, 0.5, [(CODES[1], 0.5)], False, "")], True, True, None)], [0]),
    ([("1234567893", [(2, RATES[1], 0, 1.0, [(CODES[0], 0.5)], False, "UC U3")], False, False, None)], [])]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                    HealthCheck.function_scoped_fixture])
@given(months=st.lists(month_st, min_size=2, max_size=3))
@example(months=NEGATIVE)
def test_random_ledgers_give_balanced_valid_835s(months, tmp_path_factory):
    folder = tmp_path_factory.mktemp("x12prop")
    con = _build(months)
    for period in PERIODS[:len(months)]:
        x12.record_balances(con, period)
        paths = x12.write_period(con, period, folder / period)
        paid = dict(con.execute("SELECT billing_provider_id, sum(paid_amount) FROM claim_outcomes WHERE period = ? "
                                "AND outcome <> 'rejected' GROUP BY 1", [period]).fetchall())
        withheld = dict(con.execute("SELECT billing_provider_id, claims_paid FROM provider_balances WHERE period = ? "
                                    "AND withheld_reason IS NOT NULL", [period]).fetchall())
        assert {p.stem for p in paths} == set(paid) - {"A987654321"} and set(withheld) == set(paid) & {"A987654321"}
        assert sum(paid.values()) == sum(withheld.values()) + sum(paid[p.stem] for p in paths)
        for path in paths:
            assert pyx12_errors(path) == [], path.read_text()
            [t] = read_835(path)
            assert balance_problems(t) == [], path.read_text()
            assert sum(c["paid"] for c in t["claims"]) == paid[path.stem]
            opening, forwarded, recovered, payment, closing = con.execute(
                "SELECT opening_balance, forwarded, recovered, payment_amount, closing_balance FROM provider_balances "
                "WHERE period = ? AND billing_provider_id = ?", [period, path.stem]).fetchone()
            assert payment == t["payment"] >= 0 and closing == opening + forwarded - recovered >= 0
            assert sum(a[2] for a in t["plb"]) == recovered - forwarded
    if months == NEGATIVE:
        rows = con.execute("SELECT forwarded, recovered FROM provider_balances WHERE billing_provider_id = '1234567893' "
                           "ORDER BY period").fetchall()
        assert rows[1] == (76, 0) and rows[2] == (0, 19)  # the example above: forwarded, then recovered
    con.close()
