"""Revision 2, adjustments and snapshots, on hand-made months (rules.md Clarifications 6, 7, 12, 14).

Each case would have been judged otherwise by revision 1's implementation:
- a void naming a claim already replaced, a void whose line numbers differ from the original's, an
  adjustment earlier in order than its original, and an adjustment with a line rejected at the front end
  are FE-ADJUSTMENT, and the original stands (revision 1 reversed lines the void never named and accepted
  half-rejected adjustments);
- a rejected record's message lists every problem found, under the first rule in the table's order;
- a replacement of a claim judged earlier in the same period reverses it in that period, a replacement may
  itself be replaced or voided, and the timely-filing grace runs from the period that judged the version
  replaced, only when that version was paid (revision 1 gave the grace to denied originals);
- an agreement drop identical to an older, superseded snapshot is loaded and becomes current, and a period
  re-run after later ones reads its own snapshots (revision 1 skipped both as duplicate files);
- a repeated (provider_id, log_id) in one drop is FE-VALUE after its first row, and a later drop's row with
  the key replaces the earlier one.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from claimrecon.generator import CLAIM_COLS, LOG_COLS, _write_csv, _write_pipe
from claimrecon.runner import run_period
from contracts import front_end as fe
from tests.book import SERVICES, Book
from tests.conftest import ro

RATE = SERVICES["IHS_WT"][2]  # 9.50 a unit


class World(Book):
    """A Book reused month after month: the world (providers, staff, people, agreements) stays, each
    month gets its own claims and contacts."""

    def __init__(self, period: str):
        super().__init__(period)
        self.prov = self.provider()
        self.staff_of: dict[str, str] = {}  # one staff member per person: no one serves two people at once

    def month(self, period: str) -> None:
        self.period, self.claims, self.logs = period, [], []

    def who(self, units: int = 3000) -> str:
        pmi = self.person()
        self.sa_line(pmi, self.prov, "IHS_WT", units=units)
        self.staff_of[pmi] = self.staff_member(self.prov)
        return pmi

    def bill(self, pmi: str, icn: str, received: str, lines: list[tuple[str, int]], adj: str = "0", orig: str = "",
             documented: bool = True) -> list[dict]:
        """A claim of one or more IHS lines (day, units); each line documented by its own contact unless not."""
        rows = []
        for n, (day, units) in enumerate(lines, start=1):
            if documented:
                self.contact(pmi, self.prov, self.staff_of[pmi], "IHS_WT", day, "09:00", units * 15)
            row = self.claim(None, pmi, self.prov, "IHS_WT", day, units, received=received, icn=icn, line_no=n)
            row.update(adjustment_ind=adj, original_icn=orig)
            rows.append(row)
        return rows


def outcomes(con, period: str, icn: str) -> list[tuple]:
    return con.execute("""SELECT row_type, line_no, outcome, paid_units, paid_amount, primary_rule_id, reverses_icn,
                                 reverses_period FROM claim_outcomes WHERE period = ? AND (icn = ? OR reverses_icn = ?)
                          ORDER BY row_type, icn, line_no""", [period, icn, icn]).fetchall()


def rejects(con, period: str, icn: str) -> list[tuple]:
    return con.execute("""SELECT r.rule_id, r.message FROM rejected_records r JOIN claims_rejected c
                            ON c.period = r.period AND c.source_file = r.source_file AND c.source_row = r.row_number
                          WHERE r.period = ? AND c.icn = ? ORDER BY c.line_no""", [period, icn]).fetchall()


# ---------------------------------------------------------------- one month: the front end of adjustments

@pytest.fixture(scope="module")
def january(tmp_path_factory):
    root = tmp_path_factory.mktemp("rev2adj")
    w = World("2026-01")
    cases: dict[str, dict] = {}

    # (a) a replacement of a claim judged earlier in the same period (the date of service corrected), and a void
    a = w.who()
    w.bill(a, "2026010500000001", "2026-01-05", [("2025-12-10", 8)])
    w.bill(a, "2026011000000001", "2026-01-10", [("2025-12-11", 8)], adj="4", orig="2026010500000001")
    v = w.who()
    w.bill(v, "2026010500000002", "2026-01-05", [("2025-12-10", 8), ("2025-12-11", 4)])
    w.bill(v, "2026011200000002", "2026-01-12", [("2025-12-10", 8), ("2025-12-11", 4)], adj="1",
           orig="2026010500000002", documented=False)
    # (b) a void earlier in order than its original: unknown at that point
    b = w.who()
    w.bill(b, "2026010300000003", "2026-01-03", [("2025-12-10", 8)], adj="1", orig="2026010800000003", documented=False)
    w.bill(b, "2026010800000003", "2026-01-08", [("2025-12-10", 8)])
    # (c) a void without the original's line 2
    c = w.who()
    w.bill(c, "2026010500000004", "2026-01-05", [("2025-12-10", 8), ("2025-12-11", 8)])
    w.bill(c, "2026011200000004", "2026-01-12", [("2025-12-10", 8)], adj="1", orig="2026010500000004", documented=False)
    # (d) a replacement one line of which fails a front-end edit
    d = w.who()
    w.bill(d, "2026010500000005", "2026-01-05", [("2025-12-10", 8), ("2025-12-11", 8)])
    bad = w.bill(d, "2026011200000005", "2026-01-12", [("2025-12-10", 6), ("2025-12-11", 6)], adj="4",
                 orig="2026010500000005", documented=False)
    bad[1].update(units="0", billed_amount="0.00")
    # (e) a void of a version already replaced (FE-ADJUSTMENT), and a void of the replacement (voided)
    e = w.who()
    w.bill(e, "2026010500000006", "2026-01-05", [("2025-12-10", 8)])
    w.bill(e, "2026011000000006", "2026-01-10", [("2025-12-12", 6)], adj="4", orig="2026010500000006")
    w.bill(e, "2026011500000006", "2026-01-15", [("2025-12-10", 8)], adj="1", orig="2026010500000006", documented=False)
    w.bill(e, "2026011600000006", "2026-01-16", [("2025-12-12", 6)], adj="1", orig="2026011000000006", documented=False)
    # (f) the original's line 2 is rejected at the front end: it is not part of the claim
    f = w.who()
    o = w.bill(f, "2026010500000007", "2026-01-05", [("2025-12-10", 8), ("2025-12-11", 8)])
    o[1]["procedure_code"] = "H9999"
    w.bill(f, "2026011200000007", "2026-01-12", [("2025-12-10", 8)], adj="1", orig="2026010500000007", documented=False)
    f2 = w.who()
    o = w.bill(f2, "2026010500000008", "2026-01-05", [("2025-12-10", 8), ("2025-12-11", 8)])
    o[1]["procedure_code"] = "H9999"
    w.bill(f2, "2026011200000008", "2026-01-12", [("2025-12-10", 8), ("2025-12-11", 8)], adj="1",
           orig="2026010500000008", documented=False)
    # (g) Clarification 12: several problems on one record; a replacement without original_icn
    g = w.who()
    many = w.bill(g, "2026011200000009", "2026-01-12", [("2025-12-10", 8)], adj="1", documented=False)
    many[0].update(recipient_id="ABC", units="0", billed_amount="0.00")
    w.bill(g, "2026011200000010", "2026-01-12", [("2025-12-10", 8)], adj="4", documented=False)
    # (h) Clarification 7 with the original judged earlier in the same run: the replacement (late without the
    # grace: 12 months after 9 Jan 2025 is 9 Jan 2026) gets the grace only when the original was paid
    h = w.who()
    w.bill(h, "2026010500000011", "2026-01-05", [("2025-01-08", 8)])
    w.bill(h, "2026011200000011", "2026-01-12", [("2025-01-09", 6)], adj="4", orig="2026010500000011")
    h2 = w.who()
    w.bill(h2, "2026010500000012", "2026-01-05", [("2025-01-08", 8)], documented=False)  # GEN-DOC-NONE
    w.bill(h2, "2026011200000012", "2026-01-12", [("2025-01-09", 6)], adj="4", orig="2026010500000012")
    w.write(root)
    wh = root / "wh" / "claimrecon.duckdb"
    run_period(root, "2026-01", wh)
    return {"wh": wh, "root": root, "cases": cases}


def test_replacement_of_a_claim_judged_earlier_in_the_same_period(january):
    with ro(january["wh"]) as con:
        rows = outcomes(con, "2026-01", "2026010500000001")
        repl = outcomes(con, "2026-01", "2026011000000001")
        adj = con.execute("SELECT adjustment_ind, original_icn, original_period, original_this_period FROM claim_adjustments "
                          "WHERE period = '2026-01' AND icn = '2026011000000001'").fetchall()
    assert rows == [("line", 1, "paid", 8, RATE * 8, None, None, None),
                    ("reversal", 1, "replaced", -8, -RATE * 8, None, "2026010500000001", "2026-01")]
    assert repl == [("line", 1, "paid", 8, RATE * 8, None, None, None)]
    assert adj == [("4", "2026010500000001", "2026-01", True)]


def test_grace_for_a_replacement_of_an_original_judged_earlier_in_the_same_run(january):
    with ro(january["wh"]) as con:
        paid = outcomes(con, "2026-01", "2026011200000011")
        orig_denied = outcomes(con, "2026-01", "2026010500000012")
        late = outcomes(con, "2026-01", "2026011200000012")
        ev = con.execute("SELECT evidence FROM denial_ledger WHERE period = '2026-01' AND icn = '2026011200000012' "
                         "AND rule_id = 'GEN-TIMELY'").fetchone()[0]
        once = con.execute("SELECT count(*), count(DISTINCT (source_file, source_row)) FROM claim_outcomes "
                           "WHERE period = '2026-01' AND row_type = 'line'").fetchone()
    assert paid == [("line", 1, "paid", 6, RATE * 6, None, None, None)]  # the original was paid: grace to 31 Jul
    assert orig_denied[0][2:6] == ("denied", 0, 0, "GEN-DOC-NONE")
    assert late[0][2:6] == ("denied", 0, 0, "GEN-TIMELY")  # the original was not paid: no grace
    assert '"filing_limit":"2026-01-09"' in ev
    assert once[0] == once[1]  # judging the bucket again left each line once


def test_judging_again_for_the_grace_gives_the_same_rows_in_many_buckets(january, tmp_path, monkeypatch):
    """The buckets judged again for a same-run grace are independent of how the month is split."""
    from claimrecon import judge

    monkeypatch.setattr(judge, "BUCKET_ROWS", 3)  # ~20 claim lines: several buckets
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    run_period(january["root"], "2026-01", wh)
    with ro(wh) as a, ro(january["wh"]) as b:
        assert a.execute("SELECT max(_buckets) FROM log_rule_minutes").fetchone()[0] >= 5
        for table in ("claim_outcomes", "denial_ledger"):
            q = f"SELECT * FROM {table} WHERE period = '2026-01' ORDER BY ALL"
            assert a.execute(q).fetchall() == b.execute(q).fetchall()


def test_void_of_a_claim_judged_earlier_in_the_same_period(january):
    with ro(january["wh"]) as con:
        void = outcomes(con, "2026-01", "2026011200000002")
        moved = con.execute("SELECT sum(paid_amount) FROM claim_outcomes WHERE period = '2026-01' AND "
                            "(icn IN ('2026010500000002', '2026011200000002'))").fetchone()[0]
    assert void == [("line", 1, "voided", -8, -RATE * 8, None, "2026010500000002", "2026-01"),
                    ("line", 2, "voided", -4, -RATE * 4, None, "2026010500000002", "2026-01")]
    assert moved == 0


def test_adjustment_earlier_in_order_than_its_original_is_rejected(january):
    with ro(january["wh"]) as con:
        rej = rejects(con, "2026-01", "2026010300000003")
        orig = outcomes(con, "2026-01", "2026010800000003")
    assert rej == [("FE-ADJUSTMENT", "the claim named by original_icn comes later in order of judgement "
                                     "(unknown at this point)")]
    assert orig == [("line", 1, "paid", 8, RATE * 8, None, None, None)]  # the original stands, nothing reversed


def test_void_must_carry_the_original_line_numbers(january):
    with ro(january["wh"]) as con:
        rej = rejects(con, "2026-01", "2026011200000004")
        orig = outcomes(con, "2026-01", "2026010500000004")
    assert rej == [("FE-ADJUSTMENT", "the void's line numbers differ from the original's accepted lines")]
    assert [r[:4] for r in orig] == [("line", 1, "paid", 8), ("line", 2, "paid", 8)]  # no reversal row


def test_adjustment_with_a_rejected_line_is_rejected_whole(january):
    with ro(january["wh"]) as con:
        rej = rejects(con, "2026-01", "2026011200000005")
        orig = outcomes(con, "2026-01", "2026010500000005")
        loaded = con.execute("SELECT count(*) FROM claims WHERE icn = '2026011200000005'").fetchone()[0]
    assert rej[0][0] == "FE-ADJUSTMENT" and "rejected at the front end (the original stands)" in rej[0][1]
    assert rej[1][0] == "FE-VALUE"
    assert loaded == 0 and [r[:4] for r in orig] == [("line", 1, "paid", 8), ("line", 2, "paid", 8)]


def test_only_the_current_version_can_be_adjusted(january):
    with ro(january["wh"]) as con:
        stale = rejects(con, "2026-01", "2026011500000006")
        void = outcomes(con, "2026-01", "2026011600000006")
        net = con.execute("SELECT sum(paid_amount) FROM claim_outcomes WHERE period = '2026-01' AND icn LIKE '%0006'"
                          ).fetchone()[0]
    assert stale[0][0] == "FE-ADJUSTMENT" and "already voided or replaced" in stale[0][1]
    assert void == [("line", 1, "voided", -6, -RATE * 6, None, "2026011000000006", "2026-01")]
    assert net == 0  # paid 8, reversed 8, replacement paid 6, voided 6


def test_void_matches_the_lines_accepted_at_the_front_end(january):
    with ro(january["wh"]) as con:
        ok = outcomes(con, "2026-01", "2026011200000007")
        rej = rejects(con, "2026-01", "2026011200000008")
    assert ok == [("line", 1, "voided", -8, -RATE * 8, None, "2026010500000007", "2026-01")]
    assert [r[0] for r in rej] == ["FE-ADJUSTMENT", "FE-ADJUSTMENT"]


def test_front_end_order_and_every_problem_listed(january):
    with ro(january["wh"]) as con:
        many = con.execute("SELECT rule_id, message FROM rejected_records WHERE period = '2026-01' "
                           "AND raw_record LIKE '2026011200000009|%'").fetchall()
        no_orig = rejects(con, "2026-01", "2026011200000010")
    assert many == [("FE-FORMAT", "recipient_id is not in the required format; FE-VALUE: units must be a whole number "
                                  "greater than zero (15-minute and daily units); FE-ADJUSTMENT: a void or replacement "
                                  "(adjustment_ind 1 or 4) without original_icn")]
    assert no_orig == [("FE-ADJUSTMENT", "a void or replacement (adjustment_ind 1 or 4) without original_icn")]


def test_front_end_order_follows_the_table_for_every_pair():
    """Property of the contract: whatever problems a claim record has, its rule is the first of them in the
    table's order and its message names each of them."""
    clean = dict(icn="2026010100001", line_no="1", adjustment_ind="0", original_icn=None, received_date="2026-02-03",
                 billing_provider_id="1234567893", recipient_id="12345678", procedure_code="H2014", modifiers="UC U3",
                 service_date="2026-01-10", units="4", billed_amount="38.00", place_of_service="12",
                 diagnosis_code="F84.0")
    breaks = {"FE-PARSE": {"service_date": "2026-02-30"}, "FE-REQUIRED": {"diagnosis_code": None},
              "FE-FORMAT": {"recipient_id": "1234567"}, "FE-CODE": {"procedure_code": "H9999"},
              "FE-VALUE": {"billed_amount": "-1.00"}, "FE-ADJUSTMENT": {"adjustment_ind": "4"}}
    order = list(breaks)
    rows, want = [], []
    for i, r1 in enumerate(order):
        for r2 in order[i:]:
            rows.append({**clean, "icn": f"20260101{len(rows):05d}", **breaks[r1], **breaks[r2]})
            want.append((r1, {r1, r2}))
    got = fe.validate("claims", pl.DataFrame(rows, schema={k: pl.Utf8 for k in fe.columns("claims")}),
                      ["H2014|U3 UC"]).sort("_idx")
    assert got.height == len(rows)
    for (rule, message), (first, named) in zip(got.select("rule_id", "message").iter_rows(), want):
        assert rule == first
        assert all(r in message for r in named - {first})  # the other rules are named; the first leads
        assert not message.startswith("FE-")


def test_the_month_balances(january):
    with ro(january["wh"]) as con:
        bad = con.execute("""SELECT count(*) FROM claim_outcomes o LEFT JOIN (
                SELECT source_file, source_row, row_type, sum(amount) a FROM denial_ledger WHERE period = '2026-01'
                GROUP BY ALL) l USING (source_file, source_row, row_type)
            WHERE o.period = '2026-01' AND o.billed_amount <> o.paid_amount + coalesce(l.a, 0)""").fetchone()[0]
    assert bad == 0


# ---------------------------------------------------------------- several months: timely filing and chains

@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """Originals judged in August 2025 and February 2026 for services a year earlier; replacements in February,
    March, August and September 2026."""
    root = tmp_path_factory.mktemp("chain")
    wh = root / "wh" / "claimrecon.duckdb"
    w = World("2025-08")
    old = "2025-02-10"  # 12 months after: 2026-02-10; the originals (received 2026-02-05) are on time
    p = {k: w.who() for k in ("paid_in", "paid_out", "denied", "twice", "voided", "aug_in", "aug_out")}
    # originals judged in August 2025 for services of 20 Aug 2024 (on time: received 5 Aug 2025); replaced on
    # 28 Feb 2026 (31 Aug + 6 months: February has no 31st) and on 1 Mar 2026, one day late
    w.bill(p["aug_in"], "2025080500000006", "2025-08-05", [("2024-08-20", 8)])
    w.bill(p["aug_out"], "2025080500000007", "2025-08-05", [("2024-08-20", 8)])
    w.write(root)
    run_period(root, "2025-08", wh)
    w.month("2026-02")
    w.bill(p["aug_in"], "2026022800000006", "2026-02-28", [("2024-08-20", 6)], adj="4", orig="2025080500000006",
           documented=False)
    w.bill(p["paid_in"], "2026020500000001", "2026-02-05", [(old, 8)])
    w.bill(p["paid_out"], "2026020500000002", "2026-02-05", [(old, 8)])
    w.bill(p["denied"], "2026020500000003", "2026-02-05", [(old, 8)], documented=False)  # GEN-DOC-NONE
    w.bill(p["twice"], "2026020500000004", "2026-02-05", [(old, 8)])
    w.bill(p["voided"], "2026020500000005", "2026-02-05", [("2026-01-20", 8)])
    w.write(root)
    run_period(root, "2026-02", wh)
    w.month("2026-03")
    # replacing the February version: the grace runs to 28 Aug (28 Feb + 6 months); 7 of the 8 units
    w.bill(p["twice"], "2026031000000004", "2026-03-10", [(old, 7)], adj="4", orig="2026020500000004", documented=False)
    w.bill(p["voided"], "2026031000000005", "2026-03-10", [("2026-01-20", 6)], adj="4", orig="2026020500000005",
           documented=False)
    w.bill(p["aug_out"], "2026030100000007", "2026-03-01", [("2024-08-20", 6)], adj="4", orig="2025080500000007",
           documented=False)
    w.write(root)
    run_period(root, "2026-03", wh)
    w.month("2026-08")
    w.bill(p["paid_in"], "2026082800000001", "2026-08-28", [(old, 6)], adj="4", orig="2026020500000001", documented=False)
    w.bill(p["paid_out"], "2026082900000002", "2026-08-29", [(old, 6)], adj="4", orig="2026020500000002",
           documented=False)
    w.bill(p["denied"], "2026082000000003", "2026-08-20", [(old, 8)], adj="4", orig="2026020500000003")
    # the chain's current version is March's replacement: voiding it is valid, voiding February's is not
    w.bill(p["voided"], "2026081000000005", "2026-08-10", [("2026-01-20", 6)], adj="1", orig="2026031000000005",
           documented=False)
    w.bill(p["voided"], "2026081100000005", "2026-08-11", [("2026-01-20", 8)], adj="1", orig="2026020500000005",
           documented=False)
    w.write(root)
    run_period(root, "2026-08", wh)
    w.month("2026-09")
    # replacing March's replacement: the grace runs from March (31 Mar + 6 months = 30 Sep), not from February
    w.bill(p["twice"], "2026093000000004", "2026-09-30", [(old, 8)], adj="4", orig="2026031000000004", documented=False)
    w.write(root)
    run_period(root, "2026-09", wh)
    return {"wh": wh}


def _line(con, period, icn):
    return con.execute("SELECT outcome, primary_rule_id, paid_units FROM claim_outcomes WHERE period = ? AND icn = ? "
                       "AND row_type = 'line'", [period, icn]).fetchone()


def test_grace_boundary_is_six_months_after_the_last_day_of_the_judging_period(chain):
    with ro(chain["wh"]) as con:
        on_time = _line(con, "2026-08", "2026082800000001")
        late = _line(con, "2026-08", "2026082900000002")
        ev = con.execute("SELECT evidence FROM denial_ledger WHERE period = '2026-08' AND icn = '2026082900000002' "
                         "AND rule_id = 'GEN-TIMELY'").fetchone()
    assert on_time == ("paid", None, 6)  # 28 Feb + 6 months = 28 Aug, the day it was received
    assert late == ("denied", "GEN-TIMELY", 0)  # one day later
    assert '"filing_limit":"2026-08-28"' in ev[0]  # the last day the grace reached


def test_grace_after_a_31st_ends_on_the_last_day_of_a_shorter_month(chain):
    with ro(chain["wh"]) as con:
        on_time = _line(con, "2026-02", "2026022800000006")
        late = _line(con, "2026-03", "2026030100000007")
    assert on_time == ("paid", None, 6)  # 31 Aug 2025 + 6 months = 28 Feb 2026
    assert late == ("denied", "GEN-TIMELY", 0)


def test_no_grace_when_the_original_was_not_paid(chain):
    with ro(chain["wh"]) as con:
        orig = _line(con, "2026-02", "2026020500000003")
        repl = _line(con, "2026-08", "2026082000000003")
    assert orig == ("denied", "GEN-DOC-NONE", 0)
    assert repl == ("denied", "GEN-TIMELY", 0)  # revision 1 granted the grace and paid it


def test_grace_runs_from_the_version_directly_replaced(chain):
    with ro(chain["wh"]) as con:
        first = _line(con, "2026-03", "2026031000000004")
        second = _line(con, "2026-09", "2026093000000004")
        rev = outcomes(con, "2026-09", "2026031000000004")
        ev = con.execute("SELECT evidence FROM denial_ledger WHERE period = '2026-09' AND icn = '2026093000000004'"
                         ).fetchall()
    assert first == ("paid", None, 7)
    assert second == ("paid", None, 8)  # 30 Sep is 31 Mar + 6 months (28 Aug had it run from February)
    assert [r[:4] for r in rev] == [("reversal", 1, "replaced", -7)] and rev[0][7] == "2026-03"
    assert ev == []


def test_void_of_a_replacement_across_months(chain):
    with ro(chain["wh"]) as con:
        void = outcomes(con, "2026-08", "2026081000000005")
        stale = rejects(con, "2026-08", "2026081100000005")
        net = con.execute("SELECT sum(paid_amount) FROM claim_outcomes WHERE icn LIKE '%0005' OR reverses_icn LIKE '%0005'"
                          ).fetchone()[0]
    assert void == [("line", 1, "voided", -6, -RATE * 6, None, "2026031000000005", "2026-03")]
    assert stale[0][0] == "FE-ADJUSTMENT" and "already voided or replaced" in stale[0][1]
    assert net == 0  # +8 in Feb; -8 + 6 in March; -6 in August


# ---------------------------------------------------------------- snapshots and service-log keys (Clarification 14)

def _sa_file(root, period):
    return root / period / "authorizations" / f"mmis_sa_{period}.txt"


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    """January's agreements (A), February's (B: X's line suspended), March resends A, April resends A again."""
    root = tmp_path_factory.mktemp("snap")
    wh = root / "wh" / "claimrecon.duckdb"
    w = World("2026-01")
    x, y = w.who(), w.who()
    snap_a = copy.deepcopy(w.sa)
    w.bill(x, "2026011000000001", "2026-01-10", [("2025-12-10", 8)])
    # repeated log keys in one drop: a second row in the same file, and a row in a second file
    w.logs.append(dict(w.logs[0], minutes="60", end_time="10:00"))
    w.write(root)
    _write_csv(root / "2026-01" / "service_logs" / "zz_second_export.csv", LOG_COLS, [dict(w.logs[0], staff_id="S9")])
    run_period(root, "2026-01", wh)
    log_x = w.logs[0]["log_id"]

    w.month("2026-02")
    next(r for r in w.sa if r["recipient_id"] == x)["line_status"] = "S"
    w.bill(x, "2026021000000001", "2026-02-10", [("2026-01-10", 8)])
    # Y's contact documented 30 minutes in February (corrected to 120 in March) and billed 8 units
    w.bill(y, "2026021000000002", "2026-02-10", [("2026-01-12", 2)])
    w.claims[-1].update(units="8", billed_amount=str(RATE * 8))
    log_y = w.logs[-1]["log_id"]
    w.write(root)
    run_period(root, "2026-02", wh)

    w.month("2026-03")
    w.sa = copy.deepcopy(snap_a)
    w.bill(x, "2026031000000001", "2026-03-10", [("2026-02-10", 8)])
    w.contact(y, w.prov, w.staff_of[y], "IHS_WT", "2026-01-12", "09:00", 120, log_id=log_y)
    w.bill(y, "2026031000000002", "2026-03-10", [("2026-01-12", 8)], adj="4", orig="2026021000000002", documented=False)
    w.write(root)
    run_period(root, "2026-03", wh)

    w.month("2026-04")
    w.bill(x, "2026041000000001", "2026-04-10", [("2026-03-10", 8)])
    w.write(root)
    (root / "2026-04" / "claims" / "resent_january.txt").write_bytes(
        (root / "2026-01" / "claims" / "mmis_claims_2026-01.txt").read_bytes())
    run_period(root, "2026-04", wh)
    with ro(wh) as con:
        before = con.execute("SELECT * FROM claim_outcomes WHERE period = '2026-01' ORDER BY ALL").fetchall()
    run_period(root, "2026-01", wh)  # re-run January after April
    return {"root": root, "wh": wh, "x": x, "y": y, "log_x": log_x, "log_y": log_y, "jan_before": before}


def test_older_snapshot_resent_is_loaded_and_becomes_current(snapshots):
    with ro(snapshots["wh"]) as con:
        feb = _line(con, "2026-02", "2026021000000001")
        mar = _line(con, "2026-03", "2026031000000001")
        files = con.execute("SELECT period, status FROM input_files WHERE kind = 'authorizations' ORDER BY period"
                            ).fetchall()
    assert feb == ("denied", "GEN-AUTH-NONE", 0)  # February's snapshot suspended X's line
    assert mar == ("paid", None, 8)  # March resent January's snapshot: in force again (revision 1: skipped)
    assert files == [("2026-01", "loaded"), ("2026-02", "loaded"), ("2026-03", "loaded"), ("2026-04", "duplicate")]


def test_snapshot_identical_to_the_one_in_force_is_skipped(snapshots):
    with ro(snapshots["wh"]) as con:
        apr = _line(con, "2026-04", "2026041000000001")
        dups = con.execute("SELECT source_file, message FROM rejected_records WHERE period = '2026-04' "
                           "AND rule_id = 'FE-DUPLICATE-FILE' ORDER BY source_file").fetchall()
        ref = con.execute("SELECT count(*) FROM rejected_records WHERE period = '2026-02' AND rule_id = 'FE-DUPLICATE-FILE' "
                          "AND source_file LIKE '%/reference/%'").fetchone()[0]
    assert apr == ("paid", None, 8)
    names = [d[0] for d in dups]
    assert "2026-04/authorizations/mmis_sa_2026-04.txt" in names
    assert "2026-04/claims/resent_january.txt" in names  # a claims file loaded for an earlier period
    assert "snapshot in force (loaded for 2026-03)" in dict(dups)["2026-04/authorizations/mmis_sa_2026-04.txt"]
    assert ref == 3  # recipients, providers and staff unchanged since January


def test_rerun_of_a_period_uses_its_own_snapshots(snapshots):
    with ro(snapshots["wh"]) as con:
        jan = _line(con, "2026-01", "2026011000000001")
        after = con.execute("SELECT * FROM claim_outcomes WHERE period = '2026-01' ORDER BY ALL").fetchall()
        files = con.execute("SELECT status, count(*) FROM input_files WHERE period = '2026-01' GROUP BY 1").fetchall()
    assert jan == ("paid", None, 8)  # revision 1: its agreement file matched April's load and was skipped
    assert after == snapshots["jan_before"]
    assert files == [("loaded", 7)]


def test_repeated_log_key_in_one_drop_is_fe_value_after_the_first(snapshots):
    with ro(snapshots["wh"]) as con:
        rej = con.execute("SELECT source_file, row_number, rule_id, message FROM rejected_records WHERE period = '2026-01' "
                          "AND record_kind = 'service_logs' ORDER BY source_file, row_number").fetchall()
        kept = con.execute("SELECT minutes, staff_id, source_file FROM contacts WHERE period = '2026-01' AND log_id = ?",
                           [snapshots["log_x"]]).fetchall()
    assert [(r[0].rsplit("/", 1)[1], r[1], r[2]) for r in rej] == [("evv_2026-01.csv", 3, "FE-VALUE"),
                                                                    ("zz_second_export.csv", 2, "FE-VALUE")]
    assert all("repeat an earlier record of this load" in r[3] for r in rej)
    assert kept == [(120, kept[0][1], "2026-01/service_logs/evv_2026-01.csv")]


def test_later_log_row_with_the_same_key_replaces_the_earlier(snapshots):
    with ro(snapshots["wh"]) as con:
        feb = _line(con, "2026-02", "2026021000000002")
        mar = _line(con, "2026-03", "2026031000000002")
        lb = con.execute("SELECT period, duration_minutes, billable_minutes FROM log_billability WHERE log_id = ? "
                         "ORDER BY period", [snapshots["log_y"]]).fetchall()
    assert feb == ("partial", "GEN-DOC-UNITS", 2)
    assert mar == ("paid", None, 8)  # judged on March's corrected row (120 minutes), not February's 30
    assert lb == [("2026-02", 30, 30), ("2026-03", 120, 120)]


# ---------------------------------------------------------------- the generator's revision-2 adjustment cases

def test_generated_three_months_match_ground_truth_with_an_older_snapshot_resent(tmp_path):
    """Three generated months: February's providers snapshot adds an agency, March resends January's exactly
    (loaded again, current), and every line and rejected record matches the ground truth, including the
    same-period replacement, the replacement replaced, the short void, the half-rejected replacement, the
    void before its original and the re-exported log row."""
    from claimrecon.generator import generate
    from tests.test_ground_truth import _compare

    summary = generate(tmp_path / "inbox", months=3, seed=5, scale="demo")
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    for period in summary["periods"]:
        run_period(tmp_path / "inbox", period, wh)
    demo = {"inbox": tmp_path / "inbox", "warehouse": wh}
    for period in summary["periods"]:
        lines, records = _compare(demo, period)
        wrong = lines.filter((pl.col("outcome") != pl.col("expected_outcome"))
                             | (pl.col("rule") != pl.col("expected_rule").fill_null("")))
        assert wrong.height == 0, wrong.head(10)
        assert records["rule_id"].null_count() == 0 and (records["rule_id"] == records["expected_rule"]).all()
    with ro(wh) as con:
        providers = con.execute("SELECT period, status FROM input_files WHERE kind = 'providers' ORDER BY period"
                                ).fetchall()
        rows = con.execute("SELECT period, count(*) FROM providers GROUP BY 1 ORDER BY 1").fetchall()
        kinds = dict(con.execute("""SELECT primary_rule_id || ' ' || outcome, count(*) FROM claim_outcomes
                                    WHERE period = '2026-02' AND (adjustment_ind <> '0' OR outcome = 'replaced')
                                    GROUP BY 1""").fetchall())
    assert providers == [("2026-01", "loaded"), ("2026-02", "loaded"), ("2026-03", "loaded")]
    assert rows[2][1] == rows[0][1] == rows[1][1] - 1  # March is January's snapshot again
    assert kinds["FE-ADJUSTMENT rejected"] >= 4 and kinds["FE-VALUE rejected"] >= 1


# ---------------------------------------------------------------- property: the adjustment front end's invariants

def _history_edits(claims: list[dict], rejected: set[str]):
    import duckdb

    from claimrecon.db import run_script
    from claimrecon.ingest import _claim_history_edits

    con = duckdb.connect()
    run_script(con, "schema.sql")
    frame = pl.DataFrame(claims, schema={**{k: pl.Utf8 for k in fe.columns("claims")}, "_file": pl.Int32,
                                         "_row": pl.Int64, "_raw": pl.Utf8})
    return _claim_history_edits(con, "2026-01", frame, rejected)


@st.composite
def adjustment_months(draw):
    """Up to 12 claims of one period, received on a few days: originals, voids and replacements naming any
    claim (earlier or later in order, voided, replaced, or never received), with 1-3 lines each (a void's lines
    may differ from its original's), and some claims with a line rejected at the front end."""
    n = draw(st.integers(1, 12))
    icns = [f"20260101{i:06d}" for i in range(n)]
    rows, rejected = [], set()
    for i, icn in enumerate(icns):
        adj = draw(st.sampled_from(["0", "0", "1", "4"]))
        orig = draw(st.sampled_from(icns + ["20250101999999"])) if adj != "0" else None
        day = f"2026-01-{draw(st.integers(1, 3)):02d}"
        for line in range(1, draw(st.integers(1, 3)) + 1):
            rows.append({**dict.fromkeys(fe.columns("claims")), "icn": icn, "line_no": str(line), "adjustment_ind": adj,
                         "original_icn": orig, "received_date": day, "_file": 0, "_row": len(rows) + 2, "_raw": ""})
        if draw(st.integers(0, 5)) == 0:
            rejected.add(icn)
    return rows, rejected


@settings(max_examples=100, deadline=None)
@given(adjustment_months())
def test_adjustments_name_current_versions_in_order_of_judgement(month):
    claims, rejected = month
    kept, rejects, adjustments = _history_edits(claims, rejected)
    assert kept.height + len(rejects) == len(claims)  # every line ends loaded or rejected, once
    lines = {}
    for r in claims:
        lines.setdefault(r["icn"], set()).add(int(r["line_no"]))
    order = sorted(lines, key=lambda i: min((r["received_date"], r["icn"], int(r["line_no"])) for r in claims
                                             if r["icn"] == i))
    kept_icns = set(kept["icn"].to_list())
    kind = {r["icn"]: r["adjustment_ind"] for r in claims}
    for icn in kept_icns:  # a claim is kept whole or rejected whole
        assert kept.filter(pl.col("icn") == icn).height == len(lines[icn])
    adj = {r[1]: r for r in adjustments.iter_rows()}
    assert set(adj) == {i for i in kept_icns if kind[i] != "0"}
    assert not (set(adj) & rejected)  # an adjustment with a rejected line is rejected whole
    named = [r[3] for r in adj.values()]
    assert len(named) == len(set(named))  # a version is voided or replaced at most once
    for icn, (_, _, a, orig, orig_period, same) in adj.items():
        assert orig in kept_icns and kind[orig] != "1"  # the original was accepted and is not a void
        assert order.index(orig) < order.index(icn)  # earlier in order of judgement
        assert orig_period == "2026-01" and same
        if a == "1":
            assert lines[icn] == lines[orig]  # a void carries the original's line numbers
        if orig in adj:  # a replacement replaced: the first adjustment came earlier
            assert order.index(orig) < order.index(icn)
