"""Revision 2, the service-log side, on hand-made rows: each new or changed log contract and the clarifications
it rests on (1, 2, 15, 16) failing and passing at its boundary.

One hand-made month (2026-01; services in December 2025, plus the clock-change days of 2025) run through the
Dagster job into a real DuckDB file; the overlap admission is also checked as a property against a
minute-by-minute reference over random contacts."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from claimrecon import judge
from claimrecon.db import run_script
from claimrecon.runner import run_period
from contracts import clock
from contracts import front_end as fe
from contracts.rules import Parameters
from tests.book import DAY, Book
from tests.conftest import ro

SPRING, FALL = "2025-03-09", "2025-11-02"  # America/Chicago: clocks spring forward / fall back at 2:00 AM
CASES: dict[str, dict] = {}  # case -> {"log": log_id, "want": {...}} (log facts) or {"claim": icn, ...}


def build() -> Book:  # noqa: PLR0915 - one case per few lines, read top to bottom
    b = Book(clone_staff=False)
    ihs, ihs2 = b.provider(), b.provider()
    cma = b.provider(licenses="", cm="Y")
    cm = b.staff_member(cma, "case_manager")
    day_prov = b.provider(licenses="245D_BASIC")

    def staff(prov=ihs, role="direct_support", **kw):
        return b.staff_member(prov, role, **kw)

    def log(case, pmi, prov, sid, key, day=DAY, start="09:00", minutes=120, *, billable=None, rules=None,
            removed=None, **kw):
        row = b.contact(pmi, prov, sid, key, day, start, minutes, **kw)
        CASES[case] = {"log": row["log_id"], "billable": billable, "rules": rules, "removed": removed or {}}
        return row

    def bill(case, pmi, prov, key, day=DAY, units=8, expect=("paid", None), sa=True, ledger=None):
        if sa:
            b.sa_line(pmi, prov, key)
        b.claim(case, pmi, prov, key, day, units, expect=expect, ledger=ledger)

    # ------------------------------------------------------------ Clarifications 1 and 2: real elapsed time
    p = b.person()
    log("fall back: 1:00-3:00 AM lasts 180 minutes", p, ihs, staff(), "IHS_WT", FALL, "01:00", 180, billable=180,
        end_time="03:00")
    bill("fall back: 12 units paid", p, ihs, "IHS_WT", FALL, 12)
    p = b.person()
    log("spring forward: 1:00-3:00 AM lasts 60 minutes", p, ihs, staff(), "IHS_WT", SPRING, "01:00", 60, billable=60,
        end_time="03:00")
    bill("spring forward: 8 units billed, 4 documented", p, ihs, "IHS_WT", SPRING, 8,
         expect=("partial", "GEN-DOC-UNITS"), ledger=[("GEN-DOC-UNITS", 4, True)])
    p = b.person()
    log("end equals start: 0 minutes, loaded", p, ihs, staff(), "IHS_WT", DAY, "09:00", 0, billable=0, rules="")
    bill("0 minutes: GEN-DOC-UNITS, never GEN-DOC-NONE", p, ihs, "IHS_WT", DAY, 1,
         expect=("denied", "GEN-DOC-UNITS"))
    # supervision 22:00-06:00 over the fall-back night is 9 real hours, all inside the sleeping hours
    p = b.person()
    log("IHS-SLEEP over the fall-back night: 540 minutes", p, ihs, staff(), "IHS_WT", "2025-11-01", "22:00", 540,
        billable=0, rules="IHS-SLEEP", removed={"IHS-SLEEP": 540}, end_time="06:00", activity="supervision")
    # across midnight: 23:00-01:00 and another person's 00:00-02:00 the next day, same staff member
    s = staff()
    p1, p2 = b.person(), b.person()
    log("staff overlap across midnight: the first keeps its minutes", p1, ihs, s, "IHS_WT", "2025-12-12", "23:00",
        120, billable=120, rules="")
    log("staff overlap across midnight: the later loses the hour after midnight", p2, ihs, s, "IHS_WT", "2025-12-13",
        "00:00", 120, billable=60, rules="GEN-STAFF-OVERLAP", removed={"GEN-STAFF-OVERLAP": 60})

    # ------------------------------------------------------------ CM-AIDE-TASK (allow-list), CM-STAFF, TCM-STAFF
    aide = b.staff_member(cma, "case_management_aide", supervisor_staff_id=cm)
    for act, ok in (("support", False), ("training", False), ("assessment", False), ("referral", True),
                    ("phone_contact", True), ("case_preparation", True)):
        log(f"CM-AIDE-TASK aide {act}", b.person(), cma, b.twin(aide), "CMA", DAY, "14:00", 30,
            billable=30 if ok else 0, rules="" if ok else "CM-AIDE-TASK", activity=act)
    log("CM-AIDE-TASK: a case manager on the aide code doing an assessment", b.person(), cma, b.twin(cm), "CMA", DAY,
        "14:00", 30, billable=0, rules="CM-AIDE-TASK", activity="assessment")
    ds_cm = staff(cma)
    log("CM-STAFF direct support documents CM", b.person(), cma, ds_cm, "CM", DAY, "09:00", 45, billable=0,
        rules="CM-STAFF", activity="monitoring")
    log("CM-STAFF direct support on the aide code", b.person(), cma, b.twin(ds_cm), "CMA", DAY, "09:00", 30,
        billable=0, rules="CM-STAFF")
    log("CM-STAFF pass: a case manager documents CM", b.person(), cma, b.twin(cm), "CM", DAY, "09:00", 45,
        billable=45, rules="", activity="monitoring")
    log("CM-STAFF pass: a case manager on the aide code (an aide task)", b.person(), cma, b.twin(cm), "CMA", DAY,
        "09:00", 30, billable=30, rules="")
    log("Clarification 15: CM by staff not on the roster is GEN-STAFF, not CM-STAFF", b.person(), cma, "S7777777", "CM",
        DAY, "09:00", 45, billable=0, rules="GEN-STAFF", activity="monitoring")
    tcm = b.provider(licenses="", cm="Y")
    tcm_cm = b.staff_member(tcm, "case_manager")
    tcm_kw = dict(tcm_flag="Y", narrative="Worked on the case plan", activity="case_plan")
    log("TCM-STAFF direct support", b.person(program="TANF"), tcm, staff(tcm), "TCM_OR", DAY, "10:00", 30,
        billable=0, rules="TCM-STAFF", **tcm_kw)
    log("TCM-STAFF pass: a case manager", b.person(program="TANF"), tcm, tcm_cm, "TCM_OR", DAY, "10:00", 30,
        billable=30, rules="", **tcm_kw)
    log("Clarification 15: TCM by staff not on the roster is GEN-STAFF, not TCM-STAFF", b.person(program="TANF"),
        tcm, "S7777778", "TCM_OR", DAY, "10:00", 30, billable=0, rules="GEN-STAFF", **tcm_kw)

    # ------------------------------------------------------------ IHS-DELIVERY-CODE, IHS-RATIO-CODE
    remote = dict(delivery_mode="remote", contact_method="telephone", staff_location="office", activity="check_in")
    p = b.person()
    log("IHS-DELIVERY-CODE remote call on the in-person code", p, ihs, staff(), "IHS_WT", DAY, "19:00", 30,
        billable=0, rules="IHS-DELIVERY-CODE", **remote)
    bill("IHS-DELIVERY-CODE claim on the in-person code", p, ihs, "IHS_WT", DAY, 2, expect=("denied", "IHS-DELIVERY-CODE"))
    log("IHS-DELIVERY-CODE in-person visit on the remote code", b.person(), ihs, staff(), "IHS_WT_REMOTE", DAY,
        "19:00", 30, billable=0, rules="IHS-DELIVERY-CODE", delivery_mode="in_person", contact_method="in_person",
        staff_location="home")
    log("IHS-DELIVERY-CODE pass: remote call on the remote code", b.person(), ihs, staff(), "IHS_WT_REMOTE", DAY,
        "19:00", 30, billable=30, rules="")
    log("Clarification 15: a remote social call on the in-person code breaks the remote contracts", b.person(), ihs,
        staff(), "IHS_WT", DAY, "19:00", 30, billable=0,
        rules="IHS-REMOTE-SOCIAL IHS-REMOTE-SCOPE IHS-DELIVERY-CODE", **dict(remote, activity="social"))
    log("IHS-RATIO-CODE 1:2 on the 1:1 code", b.person(), ihs, staff(), "IHS_WT", billable=0, rules="IHS-RATIO-CODE",
        ratio="1:2")
    log("IHS-RATIO-CODE pass: 1:2 on the 1:2 code", b.person(), ihs, staff(), "IHS_WT_1TO2", billable=120, rules="",
        ratio="1:2")
    log("IHS-RATIO-CODE pass: 1:1 on the 1:2 code is not this rule", b.person(), ihs, staff(), "IHS_WT_1TO2",
        billable=120, rules="", ratio="1:1")

    # ------------------------------------------------------------ IHS-NONCOVERED: the ADL share
    s, p = staff(), b.person()
    log("ADL exactly half of the day's IHS with the provider: covered", p, ihs, s, "IHS_WOT", DAY, "09:00", 60,
        billable=60, rules="", activity="adl_support")
    b.contact(p, ihs, s, "IHS_WT", DAY, "13:00", 60)
    s, p = staff(), b.person()
    log("ADL one minute more than half: not covered", p, ihs, s, "IHS_WOT", DAY, "09:00", 61, billable=0,
        rules="IHS-NONCOVERED", activity="adl_support")
    log("ADL more than half: the other IHS minutes stay covered", p, ihs, s, "IHS_WT", DAY, "13:00", 60, billable=60,
        rules="")
    s, p = staff(), b.person()
    log("ADL share counts documented minutes, billable or not", p, ihs, s, "IHS_WOT", DAY, "09:00", 60, billable=60,
        rules="", activity="adl_support")
    b.contact(p, ihs, s, "IHS_WT", DAY, "13:00", 60, activity="housing_search")  # itself not billable
    s, p = staff(), b.person()
    log("ADL share counts remote IHS too", p, ihs, s, "IHS_WOT", DAY, "09:00", 30, billable=30, rules="",
        activity="adl_support")
    b.contact(p, ihs, s, "IHS_WT_REMOTE", DAY, "19:00", 30)
    p = b.person()
    log("ADL share is per provider: another provider's IHS does not count", p, ihs, staff(), "IHS_WOT", DAY, "09:00",
        60, billable=0, rules="IHS-NONCOVERED", activity="adl_support")
    b.contact(p, ihs2, b.staff_member(ihs2), "IHS_WT", DAY, "13:00", 120)
    log("IHS-NONCOVERED housing search", b.person(), ihs, staff(), "IHS_WT", billable=0, rules="IHS-NONCOVERED",
        activity="housing_search")

    # ------------------------------------------------------------ GEN-STAFF-OVERLAP (Clarification 16)
    s = staff()
    log("1:1 first in order keeps its minutes", b.person(), ihs, s, "IHS_WT", DAY, "09:00", 120, billable=120, rules="")
    p = b.person()
    log("1:1 later in order loses only the shared hour", p, ihs, s, "IHS_WT", DAY, "10:00", 120, billable=60,
        rules="GEN-STAFF-OVERLAP", removed={"GEN-STAFF-OVERLAP": 60})
    bill("GEN-STAFF-OVERLAP claim: 4 of 8 units", p, ihs, "IHS_WT", DAY, 8, expect=("partial", "GEN-STAFF-OVERLAP"),
         ledger=[("GEN-STAFF-OVERLAP", 4, True)])
    s = staff()
    log("back to back: no overlap (end instant = next start)", b.person(), ihs, s, "IHS_WT", DAY, "09:00", 60,
        billable=60, rules="")
    log("back to back: the next contact", b.person(), ihs, s, "IHS_WT", DAY, "10:00", 60, billable=60, rules="")
    s = staff()
    for i in range(2):
        log(f"two people at 1:2 at once: both keep their minutes ({i})", b.person(), ihs, s, "IHS_WT_1TO2", DAY,
            "09:00", 120, billable=120, rules="", ratio="1:2")
    log("a third person at 1:2 at once: loses every shared minute", b.person(), ihs, s, "IHS_WT_1TO2", DAY, "09:00",
        120, billable=0, rules="GEN-STAFF-OVERLAP", removed={"GEN-STAFF-OVERLAP": 120}, ratio="1:2")
    s, p = staff(), b.person()
    log("1:2 twice for one person: the first keeps", p, ihs, s, "IHS_WT_1TO2", DAY, "13:00", 60,
        billable=60, rules="", ratio="1:2")
    log("1:2 twice for the same person (another code): not two people", p, ihs, s, "IHS_WOT_1TO2", DAY, "13:00", 60,
        billable=0, rules="GEN-STAFF-OVERLAP", removed={"GEN-STAFF-OVERLAP": 60}, ratio="1:2")
    # skip and keep admitting: A 1:2 (X) 9-11, B 1:1 (Y) 9:30-10:30, C 1:2 (Z) 10-12: B is refused at every
    # shared minute, C is admitted beside A (a permitted 1:2 pair) although B came before it
    s = staff()
    log("admission: A at 1:2 first", b.person(), ihs, s, "IHS_WT_1TO2", DAY, "09:00", 120, billable=120, rules="",
        ratio="1:2")
    log("admission: B at 1:1 beside a 1:2 contact is refused", b.person(), ihs, s, "IHS_WT", DAY, "09:30", 60,
        billable=0, rules="GEN-STAFF-OVERLAP", removed={"GEN-STAFF-OVERLAP": 60})
    log("admission: C at 1:2 after the refused B is still admitted beside A", b.person(), ihs, s, "IHS_WT_1TO2", DAY,
        "10:00", 120, billable=120, rules="", ratio="1:2")
    s = staff()
    log("a remote call during a visit: the visit keeps", b.person(), ihs, s, "IHS_WT", DAY, "09:00", 120, billable=120,
        rules="")
    log("a remote call during a visit counts and loses", b.person(), ihs, s, "IHS_WT_REMOTE", DAY, "10:00", 30,
        billable=0, rules="GEN-STAFF-OVERLAP", removed={"GEN-STAFF-OVERLAP": 30})
    s = staff()
    log("an unbillable contact still holds the staff member's time", b.person(), ihs, s, "IHS_WT", DAY, "09:00", 60,
        billable=0, rules="IHS-NONCOVERED", activity="housing_search")
    log("... so the overlapping contact loses", b.person(), ihs, s, "IHS_WT", DAY, "09:30", 60, billable=30,
        rules="GEN-STAFF-OVERLAP", removed={"GEN-STAFF-OVERLAP": 30})

    # ------------------------------------------------------------ GEN-PERSON-OVERLAP (Clarification 16)
    p = b.person()
    log("two providers, one person: the first keeps", p, ihs, staff(), "IHS_WT", DAY, "09:00", 120, billable=120,
        rules="")
    log("two providers, one person: the later loses the shared hour", p, ihs2, b.staff_member(ihs2), "IHS_WT", DAY,
        "10:00", 120, billable=60, rules="GEN-PERSON-OVERLAP", removed={"GEN-PERSON-OVERLAP": 60})
    p = b.person()
    log("two staff of one provider at 1:2 for one person: the later loses", p, ihs, staff(), "IHS_WT_1TO2", DAY,
        "09:00", 60, billable=60, rules="", ratio="1:2")
    log("... whatever the ratios", p, ihs, staff(), "IHS_WT_1TO2", DAY, "09:00", 60, billable=0,
        rules="GEN-PERSON-OVERLAP", removed={"GEN-PERSON-OVERLAP": 60}, ratio="1:2")
    p = b.person()
    log("another service key at the same time: not a person overlap", p, ihs, staff(), "IHS_WT", DAY, "09:00", 60,
        billable=60, rules="")
    log("another service key: the second", p, ihs2, b.staff_member(ihs2), "IHS_WOT", DAY, "09:00", 60, billable=60,
        rules="")
    p = b.person()
    log("a remote contact is not compared for the person", p, ihs2, b.staff_member(ihs2), "IHS_WT", DAY, "09:00", 60,
        billable=0, rules="IHS-DELIVERY-CODE", **remote)
    log("... so the in-person visit keeps every minute", p, ihs, staff(), "IHS_WT", DAY, "09:30", 60, billable=60,
        rules="")
    p = b.person()
    log("daily units are not a 15-minute service: not compared (first)", p, ihs, staff(), "IHS_WT_DAY", DAY, "08:00",
        400, billable=400, rules="")
    log("daily units are not a 15-minute service: not compared (second)", p, ihs2, b.staff_member(ihs2), "IHS_WT_DAY",
        DAY, "09:00", 400, billable=400, rules="")

    # ------------------------------------------------------------ each minute removed once, by the first rule
    s, p = staff(), b.person()
    b.contact(b.person(), ihs, s, "IHS_WT", DAY, "09:00", 120)
    log("staff overlap 10-11, adult day 10:30-11:30: 60 + 30 removed, not 120", p, ihs, s, "IHS_WT", DAY, "10:00", 120,
        billable=30, rules="GEN-STAFF-OVERLAP IHS-CONCURRENT",
        removed={"GEN-STAFF-OVERLAP": 60, "IHS-CONCURRENT": 30})
    b.contact(p, day_prov, b.staff_member(day_prov), "ADULT_DAY", DAY, "10:30", 60)
    return b


REJECTS = {  # Clarification 1 / 15 at the front end, in the same month's service-log file
    "spring forward: documented 120 for a 60-minute contact": dict(start_time="01:00", end_time="03:00", minutes="120",
                                                                   service_date=SPRING),
    "delivery in person by telephone": dict(delivery_mode="in_person", contact_method="telephone"),
    "delivery remote in person": dict(delivery_mode="remote", contact_method="in_person"),
}


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    root = tmp_path_factory.mktemp("rev2logs")
    CASES.clear()
    b = build()
    template = dict(b.logs[0])
    pmi = b.person()
    for i, change in enumerate(REJECTS.values()):
        b.logs.append(dict(template, log_id=f"R{i:09d}", recipient_id=pmi, **change))
    b.logs.append(dict(template, log_id="R000000009", recipient_id=pmi, start_time="01:00", end_time="03:00",
                       minutes="61", service_date=SPRING))  # within one minute: loaded
    b.write(root)
    wh = root / "wh" / "claimrecon.duckdb"
    run_period(root, "2026-01", wh)
    with ro(wh) as con:
        logs = {r[0]: r[1:] for r in con.execute(
            "SELECT log_id, duration_minutes, billable_minutes, rule_ids, removed_minutes_json FROM log_billability").fetchall()}
        outcomes = {r[0]: r[1:] for r in con.execute(
            "SELECT icn, outcome, primary_rule_id, paid_units FROM claim_outcomes WHERE row_type = 'line'").fetchall()}
        ledger = con.execute("SELECT icn, rule_id, CAST(units AS INTEGER), is_primary FROM denial_ledger").fetchall()
        rejects = con.execute("SELECT rule_id, message, raw_record FROM rejected_records").fetchall()
    return {"book": b, "logs": logs, "outcomes": outcomes, "ledger": ledger, "rejects": rejects, "wh": wh}


build()
LOG_CASES = list(CASES)


@pytest.mark.parametrize("case", LOG_CASES)
def test_log_case(month, case):
    want = CASES[case]
    dur, billable, rule_ids, removed_json = month["logs"][want["log"]]
    removed = {k: v for k, v in json.loads(removed_json).items() if v}
    assert billable == want["billable"], (case, dur, billable, rule_ids, removed)
    if want["rules"] is not None:
        assert (rule_ids or "") == want["rules"], (case, rule_ids)
    if want["removed"]:
        assert removed == want["removed"], (case, removed)
    assert billable + sum(removed.values()) == dur  # no minute removed twice


@pytest.mark.parametrize("case", [c for c in build().cases])
def test_claim_case(month, case):
    want = month["book"].cases[case]
    outcome, primary, _ = month["outcomes"][want["icn"]]
    assert (outcome, primary) == (want["outcome"], want["rule"]), case
    if want["ledger"] is not None:
        got = [(r[1], r[2], r[3]) for r in month["ledger"] if r[0] == want["icn"] and r[1] != "GEN-PRICE"]
        assert got == want["ledger"]


def test_front_end_rejects_time_and_delivery_disagreements(month):
    raw = [(r[0], r[1]) for r in month["rejects"] if r[2] and r[2].startswith("R00000000")]
    assert len(raw) == len(REJECTS) and {r[0] for r in raw} == {"FE-VALUE"}
    msgs = sorted(m for _, m in raw)
    assert sum("delivery_mode disagrees" in m for m in msgs) == 2 and sum("minutes disagrees" in m for m in msgs) == 1
    assert "R000000009" in month["logs"] and month["logs"]["R000000009"][0] == 60  # 61 documented: within one minute


def test_the_month_run_twice_balances_and_gives_identical_rows(month, tmp_path):
    """Every revision-2 log contract in one month: re-run into the same warehouse, it balances to the cent and
    every row of the outputs is the same."""
    copy = tmp_path / "wh" / "claimrecon.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(month["wh"], copy)
    tables = ("log_billability", "claim_outcomes", "denial_ledger", "findings")
    with ro(copy) as con:
        first = {t: con.execute(f"SELECT * FROM {t} WHERE period = '2026-01' ORDER BY ALL").fetchall() for t in tables}
    run_period(month["wh"].parent.parent, "2026-01", copy)
    with ro(copy) as con:
        assert judge.balance_problems(con, "2026-01") == []
        for t in tables:
            assert con.execute(f"SELECT * FROM {t} WHERE period = '2026-01' ORDER BY ALL").fetchall() == first[t], t
    assert first["log_billability"] and first["denial_ledger"]


def test_instants_are_derived_from_the_clock_times_not_the_stored_ones(month, tmp_path):
    """Contacts stored by an earlier claimrecon (wall-clock timestamps, a wrapped duration) are judged exactly
    like contacts stored now: the real instants come from the documented clock times each period."""
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(month["wh"], copy)
    con = duckdb.connect(str(copy))
    try:
        q = "SELECT * FROM log_billability ORDER BY ALL"
        before = con.execute(q).fetchall()
        con.execute("UPDATE contacts SET start_ts = start_ts - INTERVAL 6 HOUR, end_ts = end_ts - INTERVAL 5 HOUR, "
                    "duration_minutes = (end_minute - start_minute + 1440) % 1440")
        judge.log_billability(con, "2026-01", Parameters())
        assert con.execute(q).fetchall() == before
    finally:
        con.close()


# ---------------------------------------------------------------- the clock itself (Clarification 1)

def _elapsed(day: str, start: int, end: int) -> int:
    f = pl.DataFrame({"d": [dt.date.fromisoformat(day)], "s": [start], "e": [end]})
    return clock.contact_instants(f, "d", "s", "e")["_dur"][0]


@pytest.mark.parametrize("day,start,end,minutes", [
    (SPRING, 60, 180, 60), (FALL, 60, 180, 180), ("2025-07-01", 60, 180, 120),
    (FALL, 90, 90, 0),                    # end equals start: 0 minutes
    (FALL, 90, 60, 1410 + 60),            # 1:30 (first occurrence, CDT) to 1:00 the next day (CST): 24.5 h
    ("2025-11-01", 1380, 180, 300),       # 23:00 to 3:00 over the fall-back night: 5 real hours
    ("2025-03-08", 1380, 180, 180),       # 23:00 to 3:00 over the spring-forward night: 3 real hours
    (SPRING, 150, 240, 30),               # 2:30 (in the gap: read as 2:30 CST = 3:30 CDT) to 4:00: 30 minutes
    (SPRING, 150, 200, -10),              # 2:30 (= 3:30 CDT) to 3:20 CDT ends before it begins: FE-VALUE
])
def test_real_elapsed_minutes(day, start, end, minutes):
    assert _elapsed(day, start, end) == minutes


def test_gap_start_that_ends_before_it_begins_is_fe_value():
    row = dict(log_id="1", provider_id="1234567893", staff_id="S1", recipient_id="12345678", procedure_code="H2014",
               modifiers="UC U3", service_date=SPRING, start_time="2:30 AM", end_time="3:20 AM", minutes=None,
               delivery_mode="in_person", contact_method="in_person", two_way=None, activity="training",
               staff_location=None, ratio=None, tcm_flag=None, narrative=None)
    df = pl.DataFrame([row, dict(row, log_id="2", end_time="4:00 AM", minutes="30")],
                      schema={c: pl.Utf8 for c in fe.columns("service_logs")})
    fails = fe.validate("service_logs", df, ["H2014|U3 UC"])
    assert fails.select("_idx", "rule_id").rows() == [(0, "FE-VALUE")]
    assert "before it begins" in fails["message"][0]


# ---------------------------------------------------------------- the overlap admission as a property

def _reference_lost(rows: list[dict]) -> dict[str, set[int]]:
    """Minute by minute, in plain Python: a staff member's active contacts in order (wall-clock start, provider,
    log id), each admitted when the admitted set stays one contact or two 1:2 contacts for two people."""
    lost: dict[str, set[int]] = {r["log_id"]: set() for r in rows}
    by_staff: dict[str, list[dict]] = {}
    for r in rows:
        by_staff.setdefault(r["staff_id"], []).append(r)
    for contacts in by_staff.values():
        contacts.sort(key=lambda r: (r["start"], r["provider_id"], r["log_id"]))
        for t in range(min(r["start"] for r in contacts), max(r["end"] for r in contacts)):
            admitted: list[dict] = []
            for r in (r for r in contacts if r["start"] <= t < r["end"]):
                trial = admitted + [r]
                ok = len(trial) == 1 or (len(trial) == 2 and all(x["ratio"] == "1:2" for x in trial)
                                         and trial[0]["pmi"] != trial[1]["pmi"])
                if ok:
                    admitted = trial
                else:
                    lost[r["log_id"]].add(t)
    return lost


def _reference_person_lost(rows: list[dict]) -> dict[str, set[int]]:
    """GEN-PERSON-OVERLAP minute by minute: a person's in-person contacts of one service key in order; a contact by
    another staff member or provider than the first in order loses the minute (whatever the ratios)."""
    lost: dict[str, set[int]] = {r["log_id"]: set() for r in rows}
    for t in range(0, 301):
        for pmi in {r["pmi"] for r in rows}:
            active = sorted((r for r in rows if r["pmi"] == pmi and r["start"] <= t < r["end"]),
                            key=lambda r: (r["start"], r["provider_id"], r["log_id"]))
            for r in active[1:]:
                if (r["staff_id"], r["provider_id"]) != (active[0]["staff_id"], active[0]["provider_id"]):
                    lost[r["log_id"]].add(t)
    return lost


@settings(max_examples=40, deadline=None)
@given(day=st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)), start=st.integers(0, 1439), end=st.integers(0, 1439))
def test_elapsed_minutes_equal_zoneinfo(day, start, end):
    """Clarification 1 against zoneinfo row by row: real minutes between the clock times (fold=0)."""
    end_day = day + dt.timedelta(days=1) if end < start else day
    a = dt.datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=clock.TZ)
    z = dt.datetime(end_day.year, end_day.month, end_day.day, end // 60, end % 60, tzinfo=clock.TZ)
    want = int((z.astimezone(dt.timezone.utc) - a.astimezone(dt.timezone.utc)).total_seconds() // 60)
    assert _elapsed(day.isoformat(), start, end) == want


contact_st = st.fixed_dictionaries({
    "staff_id": st.sampled_from(["S1", "S2"]), "pmi": st.sampled_from(["10000001", "10000002", "10000003"]),
    "provider_id": st.sampled_from(["P1", "P2"]), "ratio": st.sampled_from(["1:1", "1:2"]),
    "start": st.integers(0, 180), "length": st.integers(0, 120)})


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(contact_st, min_size=1, max_size=8))
def test_staff_overlap_admission_property(contacts):
    """sql/contact_overlaps.sql equals the minute-by-minute admission (staff and person lanes); at every minute the admitted contacts of a
    staff member form a permitted combination; kept + lost = documented minutes."""
    rows = [dict(c, log_id=f"L{i:03d}", end=c["start"] + c["length"]) for i, c in enumerate(contacts)]
    con = duckdb.connect()
    base = dt.datetime(2025, 12, 10, 6)  # the times as real instants (no clock change that day)
    frame = pl.DataFrame([{
        "period": "2026-01", "provider_id": r["provider_id"], "log_id": r["log_id"], "staff_id": r["staff_id"],
        "recipient_id": r["pmi"], "service_key": "IHS_WT", "ratio": r["ratio"], "service_date": dt.date(2025, 12, 10),
        "start_minute": r["start"], "delivery_mode": "in_person",
        "start_ts": base + dt.timedelta(minutes=r["start"]), "end_ts": base + dt.timedelta(minutes=r["end"])}
        for r in rows])
    con.register("_c", frame.to_arrow())
    con.execute("CREATE TEMP TABLE cur_contacts AS SELECT * FROM _c")
    con.execute("CREATE TEMP TABLE claim_days AS SELECT '0' AS recipient_id, DATE '2000-01-01' AS service_date")
    con.execute("CREATE TEMP TABLE svc AS SELECT 'IHS_WT' AS service_key, '15min' AS unit")
    run_script(con, "contact_overlaps.sql", {"period": "2026-01"})
    got: dict[str, set[int]] = {r["log_id"]: set() for r in rows}
    got_person: dict[str, set[int]] = {r["log_id"]: set() for r in rows}
    for kind, log_id, s, e in con.execute("SELECT kind, log_id, s, e FROM ov_lost").fetchall():
        a, z = int((s - base).total_seconds() // 60), int((e - base).total_seconds() // 60)
        lost = got if kind == "S" else got_person
        assert not lost[log_id] & set(range(a, z))  # each lost minute once
        lost[log_id] |= set(range(a, z))
    con.close()
    assert got == _reference_lost(rows)
    assert got_person == _reference_person_lost(rows)
    for t in range(0, 301):  # the admitted (kept) contacts at each minute are a permitted combination
        for sid in ("S1", "S2"):
            kept = [r for r in rows if r["staff_id"] == sid and r["start"] <= t < r["end"] and t not in got[r["log_id"]]]
            assert len(kept) <= 2
            if len(kept) == 2:
                assert {r["ratio"] for r in kept} == {"1:2"} and kept[0]["pmi"] != kept[1]["pmi"]
            active = [r for r in rows if r["staff_id"] == sid and r["start"] <= t < r["end"]]
            assert (len(active) > 0) == (len(kept) > 0)  # someone always keeps a minute somebody documented
    for r in rows:
        assert r["length"] - len(got[r["log_id"]]) >= 0
