"""Revision 2 of the judging engine on hand-made rows: the sequential rules of rules.md "Clarifications".

Each case below would be judged differently by revision 1's engine (named in its comment) and sits at a
boundary: exactly 2,920 remote units across two agreement lines and two providers and the 2,921st; an
agreement line with exactly enough units left; a pool whose first line loses units to GEN-AUTH-UNITS that
return to the second; a replacement of a claim received earlier in the same month; cents that revision 1
gave to the other reduction. One month (2026-01, services mostly in December 2025), one real run through
Dagster into a DuckDB file. A Hypothesis property then judges random small contended months and checks
every line balances to the cent and is never paid more than billed.
"""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from claimrecon.judge import balance_problems
from claimrecon.runner import run_period
from tests.book import DAY, Book, days
from tests.conftest import ro


def _world(b: Book) -> dict:
    prov, prov2 = b.provider(), b.provider()
    w = {"prov": prov, "prov2": prov2, "ds": b.staff_member(prov), "ds2": b.staff_member(prov2)}
    w["day_prov"] = b.provider(licenses="245D_BASIC")
    w["day_staff"] = b.staff_member(w["day_prov"])
    for k in ("cmA", "cmB"):
        agency = w[k] = b.provider(licenses="", cm="Y")
        cm = w[k + "_cm"] = b.staff_member(agency, "case_manager")
        w[k + "_aide"] = b.staff_member(agency, "case_management_aide", supervisor_staff_id=cm)
    return w


def build() -> tuple[Book, dict]:  # noqa: PLR0915 - one row per call, read top to bottom
    b = Book()
    w = _world(b)
    prov, prov2 = w["prov"], w["prov2"]
    x: dict = {}  # facts to check beyond outcome and ledger

    # ---------------------------------------------------------------- Clar. 3: one pool of documentation
    # 120 minutes = 8 units. Line 1 draws 8 but its agreement lines leave it 6 (GEN-AUTH-UNITS 2): only the 6
    # it is paid stay drawn, so line 2's 2 units are documented (and paid from the second agreement line).
    # Revision 1 let line 1 keep all 8 billed units of the pool: line 2 was denied GEN-DOC-UNITS.
    p = b.person()
    b.sa_line(p, prov, "IHS_WT", units=6, start="2024-01-01")
    second = b.sa_line(p, prov, "IHS_WT", units=2, start="2024-06-01")
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "09:00", 120)
    b.claim("pool: the first line loses 2 units to its agreement line", p, prov, "IHS_WT", DAY, 8, received="2026-01-05",
            expect=("partial", "GEN-AUTH-UNITS"), ledger=[("GEN-AUTH-UNITS", 2, True)])
    b.claim("pool: those units return to the second line", p, prov, "IHS_WT", DAY, 2, received="2026-01-06")
    x["pool: those units return to the second line"] = {"sa": second["sa_number"]}
    # 120 minutes, 60 of them beside adult day (IHS-CONCURRENT): 4 billable units, 4 removed. Line 1 (6 units)
    # is charged 2 of the removed units; line 2 (4 units, nothing left) the other 2, then GEN-DOC-UNITS.
    # Revision 1 charged line 2 with all 4 removed units again.
    p = b.person()
    b.sa_line(p, prov, "IHS_WT")
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "09:00", 120)
    b.contact(p, w["day_prov"], w["day_staff"], "ADULT_DAY", DAY, "10:00", 120)
    b.claim("pool: the first line is charged with part of the overlap", p, prov, "IHS_WT", DAY, 6, received="2026-01-05",
            expect=("partial", "IHS-CONCURRENT"), ledger=[("IHS-CONCURRENT", 2, True)])
    b.claim("pool: the rest of the overlap, then GEN-DOC-UNITS, never GEN-DOC-NONE", p, prov, "IHS_WT", DAY, 4,
            received="2026-01-06", expect=("denied", "IHS-CONCURRENT"),
            ledger=[("IHS-CONCURRENT", 2, True), ("GEN-DOC-UNITS", 2, False)])

    # ---------------------------------------------------------------- Clar. 4: which agreement line
    # The earliest-starting line has 2 units; the next has enough: it pays, at its own rate.
    # Revision 1 took the lowest sa_number (the 2-unit line): GEN-AUTH-UNITS 6.
    p = b.person()
    b.sa_line(p, prov, "IHS_WT", units=2, start="2024-01-01")
    enough = b.sa_line(p, prov, "IHS_WT", units=100, start="2025-06-01")
    enough["unit_rate"] = "9.00"
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "09:00", 120)
    b.claim("agreement: the first line with enough units left", p, prov, "IHS_WT", DAY, 8,
            ledger=[("GEN-PRICE", 0, False)])
    x["agreement: the first line with enough units left"] = {"sa": enough["sa_number"], "paid": Decimal("72.00"),
                                                             "remaining_units": 100, "remaining_units_after": 92}
    # Ordered by start date before sa_number (revision 1: sa_number only).
    p = b.person()
    b.sa_line(p, prov, "IHS_WT", units=100, start="2025-06-01")
    earliest = b.sa_line(p, prov, "IHS_WT", units=100, start="2025-01-01")
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "09:00", 120)
    b.claim("agreement: earliest start date first", p, prov, "IHS_WT", DAY, 8)
    x["agreement: earliest start date first"] = {"sa": earliest["sa_number"]}
    # None has enough: the first with any units left pays what it has.
    p = b.person()
    some = b.sa_line(p, prov, "IHS_WT", units=2, start="2024-01-01")
    b.sa_line(p, prov, "IHS_WT", units=3, start="2024-06-01")
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "09:00", 120)
    b.claim("agreement: none has enough, the first with any units", p, prov, "IHS_WT", DAY, 8,
            expect=("partial", "GEN-AUTH-UNITS"), ledger=[("GEN-AUTH-UNITS", 6, True)])
    x["agreement: none has enough, the first with any units"] = {"sa": some["sa_number"]}
    # "Enough at that point in order": the first line takes exactly the 8 units of the early line (boundary),
    # the next line finds it empty and draws from the later one. Revision 1: GEN-AUTH-UNITS 8 on the second.
    p = b.person()
    exact = b.sa_line(p, prov, "IHS_WT", units=8, start="2024-01-01")
    later = b.sa_line(p, prov, "IHS_WT", units=100, start="2024-06-01")
    for d, case in (("2025-12-10", "agreement: exactly enough units left"), ("2025-12-11", "agreement: then the next line")):
        b.contact(p, prov, b.staff_member(prov), "IHS_WT", d, "09:00", 120)
        b.claim(case, p, prov, "IHS_WT", d, 8)
    x["agreement: exactly enough units left"] = {"sa": exact["sa_number"]}
    x["agreement: then the next line"] = {"sa": later["sa_number"]}

    # ---------------------------------------------------------------- Clar. 5: what earlier lines count
    # GEN-DUPLICATE only repeats a line paid at least in part. Another provider's 64 units fill the day: the
    # first 8-unit line is denied by the daily cap, and the identical second is not its duplicate.
    # Revision 1: GEN-DUPLICATE on the second line.
    p = b.person()
    b.sa_line(p, prov2, "IHS_WT")
    b.sa_line(p, prov, "IHS_WT")
    b.contact(p, prov2, b.staff_member(prov2), "IHS_WT", DAY, "00:00", 960)
    b.claim(None, p, prov2, "IHS_WT", DAY, 64, received="2026-01-03")
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "17:00", 120)
    b.claim("duplicate: the first identical line is denied by the daily cap", p, prov, "IHS_WT", DAY, 8,
            received="2026-01-05", expect=("denied", "IHS-DAILY-CAP"))
    b.claim("GEN-DUPLICATE pass: the earlier identical line was paid nothing", p, prov, "IHS_WT", DAY, 8,
            received="2026-01-06", expect=("denied", "IHS-DAILY-CAP"))
    # ... and a line paid in part is repeated: the identical second line is the duplicate.
    p = b.person()
    b.sa_line(p, prov, "IHS_WT", units=5)
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "09:00", 120)
    first = b.claim("duplicate: the first line paid in part", p, prov, "IHS_WT", DAY, 8, received="2026-01-05",
                    expect=("partial", "GEN-AUTH-UNITS"))
    b.claim("GEN-DUPLICATE: the earlier identical line was paid in part", p, prov, "IHS_WT", DAY, 8,
            received="2026-01-06", expect=("denied", "GEN-DUPLICATE"))
    x["GEN-DUPLICATE: the earlier identical line was paid in part"] = {"duplicate_of": first["icn"]}
    # CM-AIDE-ONE-PROVIDER: the first provider of the day is the first aide line PAID. Agency A has no
    # agreement (GEN-AUTH-NONE), so agency B's later aide line is the first paid. Revision 1 denied it.
    p = b.person()
    b.sa_line(p, w["cmB"], "CMA")
    b.contact(p, w["cmA"], w["cmA_aide"], "CMA", DAY, "10:00", 30)
    b.contact(p, w["cmB"], w["cmB_aide"], "CMA", DAY, "15:00", 30)
    b.claim("aide: the first aide line is not paid", p, w["cmA"], "CMA", DAY, 2, received="2026-01-05",
            expect=("denied", "GEN-AUTH-NONE"))
    b.claim("CM-AIDE-ONE-PROVIDER pass: the first paid aide line of the day", p, w["cmB"], "CMA", DAY, 2,
            received="2026-01-06")
    # IHS-DAY-OVERLAP only after a paid daily unit: the daily unit has 359 minutes (IHS-DAY-MIN), so the
    # 15-minute units are paid. Revision 1 denied them.
    p = b.person()
    b.sa_line(p, prov, "IHS_WT_DAY", 100)
    b.sa_line(p, prov, "IHS_WT")
    b.contact(p, prov, b.staff_member(prov), "IHS_WT_DAY", DAY, "08:00", 359)
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "15:00", 120)
    b.claim("day overlap: the daily unit is denied", p, prov, "IHS_WT_DAY", DAY, 1, received="2026-01-05",
            expect=("denied", "IHS-DAY-MIN"))
    b.claim("IHS-DAY-OVERLAP pass: the daily unit was not paid", p, prov, "IHS_WT", DAY, 8, received="2026-01-06")

    # ---------------------------------------------------------------- Clar. 6: adjustments in the same month
    # The original (8 units, the agreement's 8 and the pool's 8) is replaced by a claim received 3 days later:
    # the replacement is judged as if the original had never been paid. Revision 1: GEN-DUPLICATE.
    p = b.person()
    b.sa_line(p, prov, "IHS_WT", units=8)
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "09:00", 120)
    orig = b.claim("replacement: the original", p, prov, "IHS_WT", DAY, 8, received="2026-01-05")
    rep = b.claim("replacement: judged afresh in the same month", p, prov, "IHS_WT", DAY, 8, received="2026-01-08")
    rep.update(adjustment_ind="4", original_icn=orig["icn"])
    x["replacement: judged afresh in the same month"] = {"replaces": orig["icn"]}
    # The original counts until its replacement's place in order: an identical line between them is its
    # duplicate, the replacement is paid, and a line after the replacement duplicates the replacement.
    p = b.person()
    b.sa_line(p, prov, "IHS_WT", units=8)
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "09:00", 120)
    orig = b.claim("until the reversal: the original", p, prov, "IHS_WT", DAY, 8, received="2026-01-05")
    b.claim("GEN-DUPLICATE: of the original, before its replacement", p, prov, "IHS_WT", DAY, 8, received="2026-01-06",
            expect=("denied", "GEN-DUPLICATE"))
    rep = b.claim("until the reversal: the replacement is paid", p, prov, "IHS_WT", DAY, 8, received="2026-01-08")
    rep.update(adjustment_ind="4", original_icn=orig["icn"])
    b.claim("GEN-DUPLICATE: of the replacement, after it", p, prov, "IHS_WT", DAY, 8, received="2026-01-09",
            expect=("denied", "GEN-DUPLICATE"))
    x["GEN-DUPLICATE: of the original, before its replacement"] = {"duplicate_of": orig["icn"]}
    x["GEN-DUPLICATE: of the replacement, after it"] = {"duplicate_of": rep["icn"]}
    # A void, then the same line billed again: judged afresh. Revision 1: GEN-DUPLICATE.
    p = b.person()
    b.sa_line(p, prov, "IHS_WT", units=8)
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "09:00", 120)
    orig = b.claim("void: the original", p, prov, "IHS_WT", DAY, 8, received="2026-01-05")
    void = b.claim(None, p, prov, "IHS_WT", DAY, 8, received="2026-01-06")
    void.update(adjustment_ind="1", original_icn=orig["icn"])
    b.claim("void: the line billed again is judged afresh", p, prov, "IHS_WT", DAY, 8, received="2026-01-07")

    # ---------------------------------------------------------------- Clar. 9: aide time behind a CM line
    # CM line of 4 units: 30 case-manager minutes (2 units) and a 15-minute aide contact (1 unit) that day.
    # Revision 1: GEN-DOC-UNITS 2.
    p = b.person()
    b.sa_line(p, w["cmA"], "CM")
    b.sa_line(p, w["cmA"], "CMA")
    b.contact(p, w["cmA"], w["cmA_cm"], "CM", DAY, "14:00", 30)
    b.contact(p, w["cmA"], w["cmA_aide"], "CMA", DAY, "15:00", 15)
    b.claim("aide time behind a CM line", p, w["cmA"], "CM", DAY, 4, expect=("partial", "CM-AIDE-AS-CM"),
            ledger=[("CM-AIDE-AS-CM", 1, True), ("GEN-DOC-UNITS", 1, False)])

    # ---------------------------------------------------------------- Clar. 13: cents
    # $38.02 for 4 units; 3 documented (GEN-DOC-UNITS 1), 2 authorized (GEN-AUTH-UNITS 1), 2 paid at $9.50.
    # Shares: 1 unit 9.51, 2 units 19.01; CO-45 = 19.01 - 19.00 = 0.01; the -1 cent left by rounding goes to
    # the last reduction: GEN-DOC-UNITS 9.51, GEN-AUTH-UNITS 9.50. Revision 1: 9.50 and 9.51.
    p = b.person()
    b.sa_line(p, prov, "IHS_WT", units=2)
    b.contact(p, prov, b.staff_member(prov), "IHS_WT", DAY, "09:00", 45)
    b.claim("cents: each reduction carries the share of its own units", p, prov, "IHS_WT", DAY, 4,
            amount=Decimal("38.02"), expect=("partial", "GEN-DOC-UNITS"),
            ledger=[("GEN-DOC-UNITS", 1, True), ("GEN-AUTH-UNITS", 1, False), ("GEN-PRICE", 0, False)])
    x["cents: each reduction carries the share of its own units"] = {
        "amounts": {"GEN-DOC-UNITS": Decimal("9.51"), "GEN-AUTH-UNITS": Decimal("9.50"), "GEN-PRICE": Decimal("0.01")},
        "paid": Decimal("19.00")}

    # ---------------------------------------------------------------- IHS-REMOTE-CAP per person (Clar. 18)
    # Two providers, two agreement lines of 3,000 units (365 days from 2025-01-15): 30 days of 96 units and
    # one of 40 make exactly 2,920 for the person; the next unit is over. Revision 1 capped each line alone.
    p = b.person()
    for pr in (prov, prov2):
        b.sa_line(p, pr, "IHS_WT_REMOTE", units=3000, start="2025-01-15", end="2026-01-14")
    b.sa_line(p, prov, "IHS_WT")
    _remote_days(b, p, w, days("2025-12-01", "2025-12-30"), "2026-01-05")
    b.contact(p, prov2, b.staff_member(prov2), "IHS_WT_REMOTE", "2025-12-31", "00:00", 600)
    b.claim("IHS-REMOTE-CAP pass: exactly 2,920 units across two agreement lines and providers", p, prov2,
            "IHS_WT_REMOTE", "2025-12-31", 40, received="2026-01-05")
    b.contact(p, prov, b.staff_member(prov), "IHS_WT_REMOTE", "2026-01-02", "19:00", 15)
    b.claim("IHS-REMOTE-CAP: the 2,921st unit", p, prov, "IHS_WT_REMOTE", "2026-01-02", 1,
            expect=("denied", "IHS-REMOTE-CAP"), ledger=[("IHS-REMOTE-CAP", 1, True)])
    x["IHS-REMOTE-CAP: the 2,921st unit"] = {"remote_used": 2920, "remote_cap": 2920, "remote_year_start": "2025-01-15"}
    # A late claim counts against its own year, including units paid earlier for later dates. Years run from
    # 2024-12-20 (the earlier of the two lines): year 0 ends 2025-12-19. 3 November - 2 December (30 x 96 =
    # 2,880) and 20-31 December (year 1, 12 x 96) are paid first; the late 1 October line has 40 units of room.
    p = b.person()
    b.sa_line(p, prov, "IHS_WT_REMOTE", units=5000, start="2024-12-20", end="2026-12-31")
    b.sa_line(p, prov2, "IHS_WT_REMOTE", units=5000, start="2025-03-01", end="2026-12-31", exception=0)
    b.sa_line(p, prov, "IHS_WT")
    _remote_days(b, p, w, days("2025-11-03", "2025-12-02"), "2026-01-05")  # (2 November: clocks fall back)
    _remote_days(b, p, w, days("2025-12-20", "2025-12-31"), "2026-01-05", last="IHS-REMOTE-CAP pass: the next remote year counts apart")
    b.contact(p, prov, b.staff_member(prov), "IHS_WT_REMOTE", "2025-10-01", "00:00", 1439)
    b.claim("IHS-REMOTE-CAP: a late claim counts against its remote year", p, prov, "IHS_WT_REMOTE", "2025-10-01", 96,
            received="2026-01-10", expect=("partial", "IHS-REMOTE-CAP"), ledger=[("IHS-REMOTE-CAP", 56, True)])
    x["IHS-REMOTE-CAP: a late claim counts against its remote year"] = {"remote_used": 2880, "remote_year_start": "2024-12-20"}
    # The exception: the largest remote_exception_units of the person's lines overlapping the year (not the sum).
    p = b.person()
    b.sa_line(p, prov, "IHS_WT_REMOTE", units=3100, start="2025-01-15", end="2026-01-14", exception=20)
    b.sa_line(p, prov2, "IHS_WT_REMOTE", units=3100, start="2025-01-15", end="2026-01-14", exception=30)
    b.sa_line(p, prov, "IHS_WT")
    _remote_days(b, p, w, days("2025-12-01", "2025-12-30"), "2026-01-05")
    b.contact(p, prov2, b.staff_member(prov2), "IHS_WT_REMOTE", "2025-12-31", "00:00", 1439)
    b.claim("IHS-REMOTE-CAP: the largest exception, not the sum", p, prov2, "IHS_WT_REMOTE", "2025-12-31", 96,
            received="2026-01-06", expect=("partial", "IHS-REMOTE-CAP"), ledger=[("IHS-REMOTE-CAP", 26, True)])
    x["IHS-REMOTE-CAP: the largest exception, not the sum"] = {"remote_cap": 2950}
    return b, x


def _remote_days(b: Book, p: str, w: dict, dates: list[str], received: str, last: str | None = None) -> None:
    """A 96-unit remote check-in (00:00-23:59) a day, the two providers taking turns."""
    for i, d in enumerate(dates):
        pr = w["prov"] if i % 2 == 0 else w["prov2"]
        b.contact(p, pr, b.staff_member(pr), "IHS_WT_REMOTE", d, "00:00", 1439)
        b.claim(last if i == len(dates) - 1 else None, p, pr, "IHS_WT_REMOTE", d, 96, received=received)


@pytest.fixture(scope="module")
def rev2(tmp_path_factory):
    root = tmp_path_factory.mktemp("rev2")
    b, x = build()
    b.write(root)
    wh = root / "wh" / "claimrecon.duckdb"
    run_period(root, "2026-01", wh)
    with ro(wh) as con:
        out = con.sql("SELECT icn, line_no, outcome, primary_rule_id, paid_units, billed_amount, paid_amount, "
                      "adjusted_amount, sa_number FROM claim_outcomes WHERE row_type = 'line'").fetchall()
        led = con.sql("SELECT icn, line_no, rule_id, units, amount, is_primary, evidence FROM denial_ledger "
                      "WHERE row_type = 'line'").fetchall()
        rev = con.sql("SELECT reverses_icn, outcome, paid_amount FROM claim_outcomes WHERE row_type = 'reversal'").fetchall()
        problems = balance_problems(con, "2026-01")
    ledger: dict = {}
    for r in led:
        ledger.setdefault((r[0], r[1]), []).append(r[2:])
    return {"book": b, "x": x, "out": {(r[0], r[1]): r[2:] for r in out}, "ledger": ledger, "reversals": rev,
            "problems": problems}


CASES = list(build()[0].cases)


@pytest.mark.parametrize("case", CASES)
def test_rev2_case(rev2, case):
    want = rev2["book"].cases[case]
    key = (want["icn"], want["line_no"])
    outcome, primary, paid_units, billed, paid, adjusted, sa = rev2["out"][key]
    ledger = rev2["ledger"].get(key, [])
    assert (outcome, primary) == (want["outcome"], want["rule"]), (case, ledger)
    assert billed == paid + adjusted == paid + sum((r[2] for r in ledger), Decimal("0"))
    if want["ledger"] is not None:
        from contracts.rules import RANK
        got = sorted(ledger, key=lambda r: (not r[3], RANK[r[0]]))
        assert [(r[0], int(r[1]), r[3]) for r in got] == want["ledger"], ledger
    facts = rev2["x"].get(case, {})
    if "sa" in facts:
        assert sa == facts["sa"]
    if "paid" in facts:
        assert paid == facts["paid"]
    if "amounts" in facts:
        assert {r[0]: r[2] for r in ledger} == facts["amounts"]
    evidence = {k: v for k, v in facts.items() if k not in ("sa", "paid", "amounts", "replaces")}
    if evidence:
        ev = json.loads(ledger[0][4])
        assert {k: ev[k] for k in evidence} == evidence, ev


def test_same_month_replacement_reverses_its_original(rev2):
    """Clar. 6: the original paid, its reversal row in the same month, the replacement paid in full."""
    case = "replacement: judged afresh in the same month"
    orig = rev2["x"][case]["replaces"]
    assert [(r[1], r[2]) for r in rev2["reversals"] if r[0] == orig] == [("replaced", Decimal("-76.00"))]
    want = rev2["book"].cases[case]
    assert rev2["out"][(want["icn"], want["line_no"])][2] == 8


def test_the_month_balances(rev2):
    assert rev2["problems"] == []


def test_evidence_of_the_pool_and_the_agreement_line(rev2):
    """The ledger evidence names the agreement line chosen with its units before and after, and the pool."""
    cases = rev2["book"].cases
    want = cases["pool: the rest of the overlap, then GEN-DOC-UNITS, never GEN-DOC-NONE"]
    ev = json.loads(rev2["ledger"][(want["icn"], want["line_no"])][0][4])
    assert (ev["pool_billable_units"], ev["pool_units_drawn_before"], ev["documented_units"]) == (4, 4, 8)
    want = cases["GEN-DUPLICATE: the earlier identical line was paid in part"]
    ev = json.loads(rev2["ledger"][(want["icn"], want["line_no"])][0][4])
    assert ev["duplicate_of"] == cases["duplicate: the first line paid in part"]["icn"]
    want = cases["agreement: none has enough, the first with any units"]
    ev = json.loads(rev2["ledger"][(want["icn"], want["line_no"])][0][4])
    assert (ev["remaining_units"], ev["remaining_units_after"], ev["sa_candidates"]) == (2, 0, 2)


# ---------------------------------------------------------------- property: random small contended months
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_contended_months_balance_to_the_cent(tmp_path_factory, data):
    """A person, two providers, a few agreement lines and lines on shared pools, days and remote years,
    with odd amounts (some above the rate, some cents off): every line balances to the cent and unit, the
    month balances in total, and no line is paid more than billed (units or money)."""
    b = Book()
    w = _world(b)
    p = b.person()
    for pr in (w["prov"], w["prov2"]):
        for k in range(data.draw(st.integers(1, 2))):
            b.sa_line(p, pr, "IHS_WT", units=data.draw(st.integers(1, 40)), start=f"202{4 + k}-01-01")
        b.sa_line(p, pr, "IHS_WT_REMOTE", units=3000, start="2025-01-15", end="2026-01-14")
    for i in range(data.draw(st.integers(2, 9))):
        pr, staff = (w["prov"], w["ds"]) if data.draw(st.booleans()) else (w["prov2"], w["ds2"])
        key = data.draw(st.sampled_from(["IHS_WT", "IHS_WT_REMOTE"]))
        d = data.draw(st.sampled_from(["2025-12-10", "2025-12-11"]))
        minutes = data.draw(st.integers(0, 600))
        if minutes:
            b.contact(p, pr, staff, key, d, f"{(i * 2) % 24:02d}:00", minutes)
        units = data.draw(st.integers(1, 48))
        cents = data.draw(st.integers(1, 200_000))
        b.claim(None, p, pr, key, d, units, amount=Decimal(cents) / 100, received=f"2026-01-{1 + i:02d}")
    root = tmp_path_factory.mktemp("rev2prop")
    b.write(root)
    wh = root / "wh" / "claimrecon.duckdb"
    run_period(root, "2026-01", wh)
    with ro(wh) as con:
        assert balance_problems(con, "2026-01") == []
        bad = con.execute("""WITH l AS (SELECT source_file, source_row, sum(units) u, sum(amount) a FROM denial_ledger
                                      WHERE row_type = 'line' GROUP BY ALL)
            SELECT count(*) FROM claim_outcomes o LEFT JOIN l USING (source_file, source_row)
            WHERE o.row_type = 'line' AND (o.billed_units <> o.paid_units + coalesce(l.u, 0)
                  OR o.billed_amount <> o.paid_amount + coalesce(l.a, 0) OR o.paid_amount > o.billed_amount
                  OR o.paid_units > o.billed_units OR o.paid_amount < 0 OR coalesce(l.a, 0) < 0)""").fetchone()[0]
        total = con.execute("SELECT sum(billed_amount) - sum(paid_amount) - (SELECT sum(amount) FROM denial_ledger) "
                            "FROM claim_outcomes WHERE row_type = 'line'").fetchone()[0]
        negative = con.execute("SELECT count(*) FROM denial_ledger WHERE amount < 0").fetchone()[0]
    assert (bad, total, negative) == (0, 0, 0)


def test_history_draws_and_charges_count_in_the_pool(tmp_path):
    """Clar. 3 and 5 across months. December's pool: 120 minutes, 60 beside adult day (IHS-CONCURRENT): 4
    billable units, 4 removed. January's 6-unit line is paid 4 and charged 2 removed units. In February:
    - a late 4-unit line on the same pool finds the 4 units drawn by the paid line and 2 removed units not yet
      charged: IHS-CONCURRENT 2, then GEN-DOC-UNITS 2 (not IHS-CONCURRENT 4 again, not GEN-DOC-NONE);
    - a replacement of the same line for another person is judged afresh: its original's 4 units and its
      2 charged units return, so it is paid 4 and charged 2 again."""
    b = Book()
    w = _world(b)
    people = [b.person(), b.person()]
    firsts = []
    for p in people:
        b.sa_line(p, w["prov"], "IHS_WT")
        b.contact(p, w["prov"], b.staff_member(w["prov"]), "IHS_WT", DAY, "09:00", 120)
        b.contact(p, w["day_prov"], b.staff_member(w["day_prov"]), "ADULT_DAY", DAY, "10:00", 120)
        firsts.append(b.claim(None, p, w["prov"], "IHS_WT", DAY, 6))
    b.write(tmp_path)
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    run_period(tmp_path, "2026-01", wh)
    b.period, b.claims, b.logs = "2026-02", [], []
    late = b.claim(None, people[0], w["prov"], "IHS_WT", DAY, 4, received="2026-02-10")
    rep = b.claim(None, people[1], w["prov"], "IHS_WT", DAY, 6, received="2026-02-05")
    rep.update(adjustment_ind="4", original_icn=firsts[1]["icn"])
    b.write(tmp_path)
    run_period(tmp_path, "2026-02", wh)
    with ro(wh) as con:
        def ledger(icn, period):
            return sorted(con.execute("SELECT rule_id, CAST(units AS INTEGER) FROM denial_ledger WHERE icn = ? "
                                      "AND period = ? AND row_type = 'line'", [icn, period]).fetchall())
        out = dict(con.execute("SELECT icn, (outcome, primary_rule_id, CAST(paid_units AS INTEGER)) FROM claim_outcomes "
                               "WHERE row_type = 'line'").fetchall())
        assert balance_problems(con, "2026-02") == []
        assert out[firsts[0]["icn"]] == ("partial", "IHS-CONCURRENT", 4)
        assert ledger(firsts[0]["icn"], "2026-01") == [("IHS-CONCURRENT", 2)]
        assert out[late["icn"]] == ("denied", "IHS-CONCURRENT", 0)
        assert ledger(late["icn"], "2026-02") == [("GEN-DOC-UNITS", 2), ("IHS-CONCURRENT", 2)]
        assert out[rep["icn"]] == ("partial", "IHS-CONCURRENT", 4)
        assert ledger(rep["icn"], "2026-02") == [("IHS-CONCURRENT", 2)]


def test_the_set_based_path_equals_the_ordered_pass(demo, tmp_path, monkeypatch):
    """People whose lines cannot contend are judged set-based; judged line by line in order instead, the
    generated demo months give exactly the same outcome and ledger rows (evidence included)."""
    from claimrecon import engine

    monkeypatch.setattr(engine, "ORDERED_FOR_EVERY_LINE", True)
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    for period in demo["periods"]:
        run_period(demo["inbox"], period, wh)
    for table in ("claim_outcomes", "denial_ledger"):
        q = f"SELECT * FROM {table} WHERE period = ? ORDER BY ALL"
        with ro(wh) as a, ro(demo["warehouse"]) as b:
            for period in demo["periods"]:
                rows = a.execute(q, [period]).fetchall()
                assert len(rows) > 40 and rows == b.execute(q, [period]).fetchall(), (table, period)


def _reference_cents(billed: int, units: int, reds: list[int], rate: int) -> tuple[int, int, list[int]]:
    """Clar. 13 in plain Decimal arithmetic: (paid cents, CO-45 cents, cents of each reduction)."""
    from decimal import ROUND_HALF_UP

    def share(n: int) -> int:
        return int((Decimal(billed) * n / units).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    paid_units = units - sum(reds)
    amts = [share(n) for n in reds]
    rest = billed - share(paid_units) - sum(amts)
    for k in reversed([k for k, n in enumerate(reds) if n > 0]):  # the last reduction takes the cent(s)
        give = rest if rest >= 0 else max(rest, -amts[k])
        amts[k] += give
        rest -= give
    paid_share = share(paid_units) + rest
    paid = min(paid_share, paid_units * rate)
    return paid, paid_share - paid, amts


@settings(max_examples=300, deadline=None)
@given(units=st.integers(1, 120), billed=st.integers(0, 500_000), rate=st.integers(0, 30_000), data=st.data())
def test_cents_of_every_reduction(units, billed, rate, data):
    """Property (Clar. 13) against a Decimal reference: each reduction carries the billed share of its units,
    the rounding cent goes to the last, CO-45 is the paid share less the payment; every line balances, no
    amount is negative and nothing is paid above the billed amount."""
    import datetime as dt

    from claimrecon import engine
    from contracts.rules import REDUCTION_ORDER

    left, reds = units, []
    for _ in REDUCTION_ORDER:
        n = data.draw(st.integers(0, left)) if data.draw(st.integers(0, 4)) == 0 else 0
        reds.append(n)
        left -= n
    row = {"billed_units": units, "billed_cents": billed, "rate_cents": rate, "denied_by": None,
           "service_date": dt.date(2025, 12, 10), **{f"red__{r}": n for r, n in zip(REDUCTION_ORDER, reds)}}
    got = engine.amounts(pl.DataFrame([row], schema_overrides={"denied_by": pl.Utf8})).row(0, named=True)
    paid, co45, amts = _reference_cents(billed, units, reds, rate)
    assert (got["paid_cents"], got["price_cents"], [got[f"amt__{r}"] for r in REDUCTION_ORDER]) == (paid, co45, amts)
    assert got["paid_cents"] + got["price_cents"] + sum(amts) == billed
    assert min([paid, co45, *amts]) >= 0 and paid <= billed


def test_timely_grace_of_a_same_month_replacement_follows_its_original(tmp_path, monkeypatch):
    """Clar. 7 in order of judgement: when the evidence leaves a replacement's grace open because its original
    was judged earlier in the same run (sql/claim_evidence.sql of the adjustments work), the ordered pass grants
    the 6-month grace only if the original was paid at least in part. Both replacements here are received
    more than 12 months after the service; the first original was paid, the second denied (GEN-AUTH-NONE)."""
    from claimrecon import engine

    real = engine.judge

    def open_grace(ev, *args, **kw):  # what the front-end side's evidence says of a same-period original
        same = ev["icn"].implode()
        return real(ev.with_columns(pl.when((pl.col("adjustment_ind") == "4") & pl.col("original_icn").is_in(same))
                                    .then(None).otherwise(pl.col("replacement_grace")).alias("replacement_grace")),
                    *args, **kw)

    monkeypatch.setattr(engine, "judge", open_grace)
    b = Book()
    w = _world(b)
    day = "2025-01-06"  # 12 months run to 2026-01-06: the originals (5 January) are in time, the replacements not
    got = {}
    for label, bill_as in (("paid", w["prov"]), ("denied", w["prov2"])):
        p = b.person()
        b.sa_line(p, w["prov"], "IHS_WT")
        b.contact(p, w["prov"], b.staff_member(w["prov"]), "IHS_WT", day, "09:00", 120)
        orig = b.claim(None, p, bill_as, "IHS_WT", day, 8, received="2026-01-05")
        rep = b.claim(None, p, w["prov"], "IHS_WT", day, 8, received="2026-01-20")
        rep.update(adjustment_ind="4", original_icn=orig["icn"])
        got[label] = (orig["icn"], rep["icn"])
    b.write(tmp_path)
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    run_period(tmp_path, "2026-01", wh)
    with ro(wh) as con:
        out = dict(con.execute("SELECT icn, (outcome, primary_rule_id) FROM claim_outcomes WHERE row_type = 'line'").fetchall())
        assert balance_problems(con, "2026-01") == []
    assert out[got["paid"][0]] == ("paid", None) and out[got["paid"][1]] == ("paid", None)
    assert out[got["denied"][0]] == ("denied", "GEN-AUTH-NONE") and out[got["denied"][1]] == ("denied", "GEN-TIMELY")
