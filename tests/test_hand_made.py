"""Hand-made data, row by row: every FE-* and GEN-* rule failing once and passing once, and a
two-month scenario with a void, a replacement, a cross-month duplicate and units carried over.

Every case is written out here (no generator randomness): one recipient per case, so cases cannot
interfere, and a paid control line beside each failure shows the rule passing."""

import shutil
from decimal import Decimal

import pytest

from claimrecon.generator import (CLAIM_COLS, LOG_COLS, PROV_COLS, REC_COLS, SA_COLS, STAFF_COLS, _write_csv,
                                  _write_pipe)
from claimrecon.runner import run_period
from contracts.front_end import npi_check_digit
from tests.conftest import ro


def npi(n: int) -> str:
    b = f"{123450000 + n:09d}"
    return b + str(npi_check_digit(b))


PROV, OTHER_PROV, GHOST_PROV = npi(1), npi(2), npi(3)  # GHOST is never enrolled
STAFF, UNCLEARED = "S000001", "S000002"
PROVIDERS = [{"provider_id": PROV, "name": "Hand Made Supports", "enrollment_start": "2020-01-01", "enrollment_end": "",
              "licenses": "245D_BASIC 245D_INTENSIVE", "case_management_agency": "N"},
             {"provider_id": OTHER_PROV, "name": "Other", "enrollment_start": "2020-01-01", "enrollment_end": "",
              "licenses": "245D_BASIC 245D_INTENSIVE", "case_management_agency": "N"}]
STAFF_ROWS = [{"staff_id": STAFF, "provider_id": PROV, "role": "direct_support", "hire_date": "2021-01-01", "end_date": "",
               "background_study_date": "2020-12-15", "high_school_graduate": "Y", "qualifying_experience_months": "24",
               "postsecondary_years": "0", "supervisor_staff_id": "", "training_hours_12m": "16"},
              {"staff_id": UNCLEARED, "provider_id": PROV, "role": "direct_support", "hire_date": "2021-01-01",
               "end_date": "", "background_study_date": "", "high_school_graduate": "Y",
               "qualifying_experience_months": "24", "postsecondary_years": "0", "supervisor_staff_id": "",
               "training_hours_12m": "16"}]


class Inbox:
    """A month of hand-written rows. `line()` adds a recipient, an agreement line, a contact and a claim."""

    def __init__(self):
        self.recipients, self.sa, self.logs, self.claims, self.expect = [], [], [], [], {}
        self.staff = list(STAFF_ROWS)
        self.n = 0

    def line(self, case: str, *, units=8, minutes=120, billed=None, day="2025-12-10", received="2026-01-10",
             auth_units=100, span_end="2028-12-31", provider=PROV, staff=STAFF, contact=True, sa=True, icn=None,
             pmi=None, adj="0", orig="", start=540, expect=("paid", None)) -> dict:
        self.n += 1
        pmi = pmi or f"{20000000 + self.n:08d}"
        if not any(r["recipient_id"] == pmi for r in self.recipients):
            self.recipients.append({"recipient_id": pmi, "birth_date": "1980-05-17", "waiver_program": "CADI",
                                    "span_start": "2024-01-01", "span_end": span_end, "living_arrangement": "own_home",
                                    "sleep_start": "", "sleep_end": ""})
        if sa:
            self.sa.append({"sa_number": f"{self.n:010d}", "line_no": "1", "sa_status": "A", "line_status": "A",
                            "recipient_id": pmi, "provider_id": PROV, "procedure_code": "H2014", "modifiers": "UC U3",
                            "start_date": "2024-01-01", "end_date": "2028-12-31", "authorized_units": str(auth_units),
                            "unit_rate": "9.50", "waiver_program": "CADI", "remote_exception_units": "0",
                            "case_manager_id": ""})
        if contact and staff == STAFF:  # each line's visit by its own worker (no GEN-STAFF-OVERLAP, revision 2)
            staff = f"S1{self.n:05d}"
            self.staff.append(dict(STAFF_ROWS[0], staff_id=staff))
        if contact:
            self.logs.append({"log_id": f"L{self.n:09d}", "provider_id": PROV, "staff_id": staff, "recipient_id": pmi,
                              "procedure_code": "H2014", "modifiers": "UC U3", "service_date": day,
                              "start_time": f"{start // 60:02d}:{start % 60:02d}",
                              "end_time": f"{(start + minutes) // 60 % 24:02d}:{(start + minutes) % 60:02d}",
                              "minutes": str(minutes), "delivery_mode": "in_person", "contact_method": "in_person",
                              "two_way": "Y", "activity": "training", "staff_location": "home", "ratio": "1:1",
                              "tcm_flag": "", "narrative": ""})
        row = {"icn": icn or f"2026011{self.n:09d}", "line_no": "1", "adjustment_ind": adj, "original_icn": orig,
               "received_date": received, "billing_provider_id": provider, "recipient_id": pmi, "procedure_code": "H2014",
               "modifiers": "UC U3", "service_date": day, "units": str(units),
               "billed_amount": str(billed if billed is not None else Decimal("9.50") * units),
               "place_of_service": "12", "diagnosis_code": "F84.0"}
        self.claims.append(row)
        self.expect[case] = (row["icn"], *expect)
        return row

    def write(self, root, period, fe_lines=(), dup_log_file=False):
        base = root / period
        for sub in ("claims", "authorizations", "service_logs", "reference"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        _write_pipe(base / "claims" / f"mmis_claims_{period}.txt", CLAIM_COLS, self.claims, "billed_amount", list(fe_lines))
        _write_pipe(base / "authorizations" / f"mmis_sa_{period}.txt", SA_COLS, self.sa, "authorized_units")
        _write_csv(base / "service_logs" / f"evv_{period}.csv", LOG_COLS, self.logs)
        if dup_log_file:
            shutil.copyfile(base / "service_logs" / f"evv_{period}.csv", base / "service_logs" / f"resent_{period}.csv")
        _write_csv(base / "reference" / "recipients.csv", REC_COLS, self.recipients)
        _write_csv(base / "reference" / "providers.csv", PROV_COLS, PROVIDERS)
        _write_csv(base / "reference" / "staff.csv", STAFF_COLS, self.staff)


def fe_line(**kw) -> str:
    row = {"icn": "2026019999999990", "line_no": "1", "adjustment_ind": "0", "original_icn": "",
           "received_date": "2026-01-10", "billing_provider_id": PROV, "recipient_id": "20000001",
           "procedure_code": "H2014", "modifiers": "UC U3", "service_date": "2025-12-11", "units": "8",
           "billed_amount": "76.00", "place_of_service": "12", "diagnosis_code": "F84.0"}
    row.update(kw)
    return "|".join(row.get(c, "") for c in CLAIM_COLS)


FE_CASES = {  # rule -> the bad claim line (row numbers follow the detail lines)
    "FE-PARSE": fe_line(icn="2026019999999991") + "|extra",
    "FE-REQUIRED": fe_line(icn="2026019999999992", recipient_id=""),
    "FE-FORMAT": fe_line(icn="2026019999999993", recipient_id="ABC"),
    "FE-CODE": fe_line(icn="2026019999999994", procedure_code="X9999"),
    "FE-VALUE": fe_line(icn="2026019999999995", units="-8", billed_amount="76.00"),
    "FE-ADJUSTMENT": fe_line(icn="2026019999999996", adjustment_ind="1", original_icn="2025019999999999"),
}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    root = tmp_path_factory.mktemp("hand")
    m1 = Inbox()
    m1.line("pass", expect=("paid", None))
    m1.line("GEN-ELIGIBILITY", span_end="2025-11-30", expect=("denied", "GEN-ELIGIBILITY"))
    m1.line("GEN-PROVIDER", provider=GHOST_PROV, expect=("denied", "GEN-PROVIDER"))
    m1.line("GEN-TIMELY", day="2024-11-15", expect=("denied", "GEN-TIMELY"))
    first = m1.line("GEN-DUPLICATE-first", expect=("paid", None))
    m1.line("GEN-DUPLICATE", pmi=first["recipient_id"], contact=False, sa=False, expect=("denied", "GEN-DUPLICATE"))
    m1.line("GEN-AUTH-NONE", sa=False, expect=("denied", "GEN-AUTH-NONE"))
    m1.line("GEN-DOC-NONE", contact=False, expect=("denied", "GEN-DOC-NONE"))
    m1.line("GEN-DOC-UNITS", minutes=60, expect=("partial", "GEN-DOC-UNITS"))
    m1.line("GEN-AUTH-UNITS", auth_units=5, expect=("partial", "GEN-AUTH-UNITS"))
    m1.line("GEN-STAFF", staff=UNCLEARED, expect=("denied", "GEN-STAFF"))
    m1.line("GEN-PRICE", billed=Decimal("100.00"), expect=("paid", None))
    void_me = m1.line("to-void", expect=("paid", None))
    replace_me = m1.line("to-replace", expect=("paid", None))
    # IHS-DAILY-CAP edge: 16 hours in person (06:00-22:00, outside sleeping hours) is exactly 64 units: paid.
    m1.line("exactly-64", units=64, minutes=960, start=360, auth_units=1000, expect=("paid", None))
    m1.line("65-units", units=65, minutes=975, start=360, auth_units=1000, day="2025-12-11",
            expect=("partial", None))
    carried = m1.line("carry-1", auth_units=10, day="2025-12-03", expect=("paid", None))
    m1.write(root, "2026-01", fe_lines=list(FE_CASES.values()), dup_log_file=True)

    m2 = Inbox()
    m2.n = 100
    m2.recipients, m2.sa, m2.staff = list(m1.recipients), list(m1.sa), list(m1.staff)  # same snapshots
    m2.line("void", pmi=void_me["recipient_id"], sa=False, contact=False, received="2026-02-05",
            icn="2026021000000001", adj="1", orig=void_me["icn"], day=void_me["service_date"], expect=("voided", None))
    m2.line("replacement", pmi=replace_me["recipient_id"], sa=False, contact=False, received="2026-02-05",
            icn="2026021000000002", adj="4", orig=replace_me["icn"], units=6, day=replace_me["service_date"],
            expect=("paid", None))
    m2.line("cross-month duplicate", pmi=first["recipient_id"], sa=False, contact=False, received="2026-02-06",
            day=first["service_date"], expect=("denied", "GEN-DUPLICATE"))
    m2.line("carry-2", pmi=carried["recipient_id"], sa=False, day="2025-12-04", received="2026-02-06",
            expect=("partial", "GEN-AUTH-UNITS"))
    m2.write(root, "2026-02")
    wh = root / "wh" / "claimrecon.duckdb"
    run_period(root, "2026-01", wh)
    run_period(root, "2026-02", wh)
    return {"root": root, "wh": wh, "m1": m1, "m2": m2}


def _line(con, period, icn):
    return con.execute("""SELECT outcome, primary_rule_id, paid_units, paid_amount, billed_amount, adjusted_amount
                          FROM claim_outcomes WHERE period = ? AND icn = ? AND row_type = 'line'""",
                       [period, icn]).fetchone()


@pytest.mark.parametrize("case", ["pass", "GEN-ELIGIBILITY", "GEN-PROVIDER", "GEN-TIMELY", "GEN-DUPLICATE-first",
                                  "GEN-DUPLICATE", "GEN-AUTH-NONE", "GEN-DOC-NONE", "GEN-DOC-UNITS", "GEN-AUTH-UNITS",
                                  "GEN-STAFF", "GEN-PRICE", "exactly-64", "65-units"])
def test_gen_rule_fails_and_passes_on_hand_made_lines(scenario, case):
    icn, outcome, rule = scenario["m1"].expect[case]
    with ro(scenario["wh"]) as con:
        got = _line(con, "2026-01", icn)
        ledger = con.execute("SELECT rule_id, units, amount, is_primary, carc FROM denial_ledger WHERE period = ? "
                             "AND icn = ? ORDER BY is_primary DESC, rule_id", ["2026-01", icn]).fetchall()
    assert got[0] == outcome and (got[1] == rule or rule is None and outcome == "partial"), (case, got, ledger)
    assert got[4] == got[3] + got[5]  # billed = paid + adjusted, per line
    if rule:
        assert ledger[0][0] == rule and ledger[0][3] is True
    if case == "GEN-DOC-UNITS":  # 60 minutes document 4 of the 8 units billed
        assert got[2] == 4 and ledger[0][1] == 4 and ledger[0][2] == Decimal("38.00")
    if case == "GEN-AUTH-UNITS":  # 5 units authorized, 8 billed
        assert got[2] == 5 and ledger[0][1] == 3
    if case == "GEN-PRICE":  # 8 units at the agreement rate 9.50 = 76.00; the rest is CO-45
        assert got[3] == Decimal("76.00") and ledger == [("GEN-PRICE", 0, Decimal("24.00"), False, "45")]
    if case == "exactly-64":
        assert got[2] == 64 and ledger == []
    if case == "65-units":  # one unit past the daily cap: the 65th unit is not paid
        assert got[2] == 64 and [(r[0], r[1]) for r in ledger] == [("IHS-DAILY-CAP", 1)]
    if case in ("pass", "GEN-DUPLICATE-first"):
        assert ledger == [] and got[3] == Decimal("76.00")


@pytest.mark.parametrize("rule", list(FE_CASES))
def test_fe_rule_rejects_the_bad_record_and_keeps_the_rest(scenario, rule):
    with ro(scenario["wh"]) as con:
        rows = con.execute("SELECT source_file, row_number, raw_record FROM rejected_records WHERE period = '2026-01' "
                           "AND rule_id = ?", [rule]).fetchall()
        loaded = con.execute("SELECT count(*) FROM claims WHERE period = '2026-01'").fetchone()[0]
        outcome = con.execute("SELECT outcome, primary_rule_id FROM claim_outcomes WHERE period = '2026-01' "
                              "AND source_row = ? AND row_type = 'line'", [rows[0][1]]).fetchone()
    n_good = len(scenario["m1"].claims)
    assert len(rows) == 1 and rows[0][0].endswith(".txt")
    assert rows[0][1] == n_good + 2 + list(FE_CASES).index(rule)  # header is row 1
    assert rows[0][2] == FE_CASES[rule]
    assert loaded == n_good  # every good line of the same file was loaded
    assert outcome == ("rejected", rule)


def test_fe_duplicate_file_is_skipped_once(scenario):
    with ro(scenario["wh"]) as con:
        dup = con.execute("SELECT source_file FROM rejected_records WHERE rule_id = 'FE-DUPLICATE-FILE' "
                          "AND period = '2026-01'").fetchall()
        contacts = con.execute("SELECT count(*), count(DISTINCT log_id) FROM contacts WHERE period = '2026-01'").fetchone()
    assert [d[0] for d in dup] == ["2026-01/service_logs/resent_2026-01.csv"]
    assert contacts[0] == contacts[1] == len(scenario["m1"].logs)


def test_two_months_void_replacement_duplicate_and_carried_units(scenario):
    m1, m2 = scenario["m1"].expect, scenario["m2"].expect
    with ro(scenario["wh"]) as con:
        void = con.execute("SELECT outcome, paid_units, paid_amount, reverses_icn FROM claim_outcomes "
                           "WHERE period = '2026-02' AND icn = ?", [m2["void"][0]]).fetchall()
        repl = con.execute("SELECT row_type, outcome, paid_units, paid_amount, reverses_icn FROM claim_outcomes "
                           "WHERE period = '2026-02' AND (icn = ? OR reverses_icn = ?) ORDER BY row_type",
                           [m2["replacement"][0], m1["to-replace"][0]]).fetchall()
        dup = _line(con, "2026-02", m2["cross-month duplicate"][0])
        carry = _line(con, "2026-02", m2["carry-2"][0])
        first = _line(con, "2026-01", m1["carry-1"][0])
        util = con.execute("SELECT authorized_units, used_units, remaining_units FROM authorization_utilization "
                           "WHERE sa_number = (SELECT sa_number FROM claim_outcomes WHERE icn = ?)",
                           [m1["carry-1"][0]]).fetchone()
        moved = con.execute("SELECT sum(paid_amount) FROM claim_outcomes WHERE period = '2026-02'").fetchone()[0]
    assert void == [("voided", -8, Decimal("-76.00"), m1["to-void"][0])]
    lines = {r[0]: r for r in repl}
    assert lines["line"][1:4] == ("paid", 6, Decimal("57.00"))
    reversal = [r for r in repl if r[0] != "line"][0]
    assert reversal[1:] == ("replaced", -8, Decimal("-76.00"), m1["to-replace"][0])
    assert dup[:2] == ("denied", "GEN-DUPLICATE")
    assert first[2] == 8 and carry[:3] == ("partial", "GEN-AUTH-UNITS", 2)  # 10 authorized: 8 used in month 1
    assert util == (10, 10, 0)
    # the money month 2 moved: -76 (void) - 76 + 57 (replacement) + 0 (duplicate) + 19 (2 carried units)
    assert moved == Decimal("-76.00")
