"""Revision 2, the new claim edits, inputs and findings on hand-made rows, each failing and passing at its boundary:
GEN-DECEASED (death the day before vs. the day of service), GEN-PROGRAM (waiver vs. TANF spans, two spans where
one satisfies), GEN-INPATIENT (admission and discharge days paid, the day after admission denied, a transfer, a
same-day stay, an open stay, case management excepted), IHS-FT-HOME, CM-AGENCY; Clarifications 8 (29 February
birthdays, inclusive spans, agreements and employment), 10 (modifiers only where the catalog lists them, TANF
agreements), 11 (CO-284 / CO-296 by service key) and 17 (any covering span); the facility_stays front end and
its snapshot carried over months; AUTH-MAX-DEFAULT and the revised IL-CASELOAD.

One month (2026-03, services in February and early March 2026) run twice through Dagster into a DuckDB file."""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from claimrecon.generator import REC_COLS, STAY_COLS, _write_csv
from claimrecon.runner import run_period
from contracts import front_end as fe
from contracts.rules import RULES
from tests.book import Book
from tests.conftest import ro

PERIOD, RECEIVED, DAY = "2026-03", "2026-03-10", "2026-02-10"


class Book2(Book):
    """tests.book.Book with revision 2's inputs: date of death, several spans per person, facility stays."""

    def __init__(self, period: str = PERIOD):
        super().__init__(period)
        self.stays: list[dict] | None = []   # None: no facility_stays.csv in the drop
        self.stay_lines: list[str] = []      # raw lines appended to facility_stays.csv (front-end rejects)

    def person2(self, spans=(("CADI", "own_home", "2024-01-01", "2028-12-31"),), death: str | dict = "",
                birth: str = "1980-05-17") -> str:
        """A person with one recipients.csv row per span; `death` is one date for every span or {span_start: date}."""
        program, living, start, end = spans[0]
        pmi = self.person(program=program, birth=birth, living=living, span=(start, end))
        first = self.recipients[-1]
        for program, living, start, end in spans[1:]:
            self.recipients.append(dict(first, waiver_program=program, living_arrangement=living, span_start=start,
                                        span_end=end))
        for r in self.recipients:
            if r["recipient_id"] == pmi:
                r["death_date"] = death.get(r["span_start"], "") if isinstance(death, dict) else death
        return pmi

    def twin(self, sid: str) -> str:
        """A new staff member like `sid`: every line is documented by a worker of its own, so no two cases share
        a staff member's time (GEN-STAFF-OVERLAP, revision 2)."""
        row = next(r for r in self.staff if r["staff_id"] == sid)
        return self.staff_member(row["provider_id"], row["role"], **{k: v for k, v in row.items()
                                                                     if k not in ("staff_id", "provider_id", "role")})

    def stay(self, pmi: str, admit: str, discharge: str = "", facility: str = "hospital") -> None:
        self.stays.append({"recipient_id": pmi, "facility_type": facility, "admit_date": admit,
                           "discharge_date": discharge})

    def write(self, root) -> None:
        super().write(root)
        if self.stays is not None:
            path = root / self.period / "reference" / "facility_stays.csv"
            _write_csv(path, STAY_COLS, self.stays)
            with open(path, "a") as f:
                f.writelines(ln + "\n" for ln in self.stay_lines)


# ------------------------------------------------------------------------------------------------ the month

STAY_REJECTS = [  # (raw line, rule): appended after the good stays, so row numbers follow them
    (",hospital,2026-01-01,2026-01-05", "FE-REQUIRED"),
    ("1234567,hospital,2026-01-01,2026-01-05", "FE-FORMAT"),
    ("30000999,rehab_center,2026-01-01,2026-01-05", "FE-FORMAT"),
    ("30000999,hospital,2026-02-30,", "FE-PARSE"),
    ("30000999,hospital,2026-01-09,2026-01-08", "FE-VALUE"),
    ("30000999,hospital", "FE-PARSE"),
]


def build() -> tuple[Book2, dict]:  # noqa: PLR0915 - one row per call, read top to bottom
    b = Book2()
    ihs = b.provider()
    ds = b.staff_member(ihs)
    other = b.provider()
    cma = b.provider(licenses="", cm="Y")
    cm1 = b.staff_member(cma, "case_manager")
    aide = b.staff_member(cma, "case_management_aide", supervisor_staff_id=cm1)
    notcm = b.provider(licenses="245D_BASIC", cm="N")
    notcm_cm = b.staff_member(notcm, "case_manager")
    tcm = b.provider(licenses="", cm="Y")
    tcm_cm = b.staff_member(tcm, "case_manager")

    def line(case, pmi, key="IHS_WT", day=DAY, expect=("paid", None), *, prov=ihs, staff=ds, sa=True, minutes=None,
             contact=True, **kw):
        units, start, doc_minutes = {"CM": (3, "13:00", 45), "CMA": (2, "14:00", 30), "TCM_OR": (2, "10:00", 30)}.get(
            key, (8, "09:00", 120))
        if sa:
            b.sa_line(pmi, prov, key, program="TANF" if key == "TCM_OR" else "CADI", **kw)
        if contact:
            b.contact(pmi, prov, b.twin(staff), key, day, start, minutes or doc_minutes)
        return b.claim(case, pmi, prov, key, day, units, expect=expect, received=RECEIVED)

    cm = dict(prov=cma, staff=cm1)
    cmaide = dict(prov=cma, staff=aide)
    tcmkw = dict(prov=tcm, staff=tcm_cm)

    # ---------------------------------------------------------------- GEN-DECEASED (MMIS date-of-death edit)
    line("GEN-DECEASED died the day before", b.person2(death="2026-02-09"), expect=("denied", "GEN-DECEASED"))
    line("GEN-DECEASED pass: died the day of service", b.person2(death=DAY))
    line("GEN-DECEASED pass: no date of death", b.person2())
    # the spans disagree: the earliest date given counts (a span without a date does not clear it)
    p = b.person2(spans=(("CADI", "own_home", "2024-01-01", "2025-12-31"), ("CADI", "own_home", "2026-01-01", "")),
                  death={"2024-01-01": "2026-02-09", "2026-01-01": "2026-02-20"})
    line("GEN-DECEASED spans disagree: the earliest date", p, expect=("denied", "GEN-DECEASED"))
    p = b.person2(spans=(("CADI", "own_home", "2024-01-01", "2025-12-31"), ("CADI", "own_home", "2026-01-01", "")),
                  death={"2024-01-01": "2026-02-09"})
    line("GEN-DECEASED only one span gives it", p, expect=("denied", "GEN-DECEASED"))
    line("GEN-DECEASED outranks GEN-ELIGIBILITY",
         b.person2(spans=(("CADI", "own_home", "2024-01-01", "2026-02-09"),), death="2026-02-09"),
         expect=("denied", "GEN-DECEASED"))

    # ---------------------------------------------------------------- GEN-ELIGIBILITY (Clarifications 8, 17)
    line("GEN-ELIGIBILITY span ended the day before", b.person2(spans=(("CADI", "own_home", "2024-01-01", "2026-02-09"),)),
         expect=("denied", "GEN-ELIGIBILITY"))
    line("GEN-ELIGIBILITY pass: span ends that day", b.person2(spans=(("CADI", "own_home", "2024-01-01", DAY),)))
    line("GEN-ELIGIBILITY pass: span starts that day", b.person2(spans=(("CADI", "own_home", DAY, ""),)))
    line("GEN-PROGRAM a TANF span is a span: eligible, not for IHS", b.person2(spans=(("TANF", "own_home", "2024-01-01", ""),)),
         expect=("denied", "GEN-PROGRAM"))

    # ---------------------------------------------------------------- GEN-PROGRAM (000, 001; Clarification 10, 17)
    tanf = ("TANF", "family_home", "2024-01-01", "")
    line("GEN-PROGRAM IHS for a TANF-only person", b.person2(spans=(tanf,)), expect=("denied", "GEN-PROGRAM"))
    line("GEN-PROGRAM case management for a TANF-only person", b.person2(spans=(tanf,)), "CM",
         expect=("denied", "GEN-PROGRAM"), **cm)
    line("GEN-PROGRAM aide for a TANF-only person", b.person2(spans=(tanf,)), "CMA", expect=("denied", "GEN-PROGRAM"),
         **cmaide)
    line("GEN-PROGRAM TCM without a TANF span", b.person2(birth="1990-01-01"), "TCM_OR", expect=("denied", "GEN-PROGRAM"),
         **tcmkw)
    line("GEN-PROGRAM pass: TCM for a TANF person", b.person2(spans=(tanf,), birth="1990-01-01"), "TCM_OR", **tcmkw)
    line("GEN-PROGRAM pass: case management on an EW span", b.person2(spans=(("EW", "own_home", "2024-01-01", ""),)),
         "CM", **cm)
    both = (("TANF", "family_home", "2024-01-01", ""), ("CADI", "own_home", "2025-01-01", ""))
    line("GEN-PROGRAM pass: two spans, the waiver one covers CM", b.person2(spans=both, birth="1990-01-01"), "CM", **cm)
    line("GEN-PROGRAM pass: two spans, the TANF one covers TCM", b.person2(spans=both, birth="1990-01-01"), "TCM_OR",
         **tcmkw)
    line("GEN-PROGRAM two spans, the waiver one ended the day before",
         b.person2(spans=(("TANF", "own_home", "2024-01-01", ""), ("CADI", "own_home", "2024-06-01", "2026-02-09")),
                   birth="1990-01-01"), "CM", expect=("denied", "GEN-PROGRAM"), **cm)
    line("IHS-WAIVER pass: two spans, EW and CADI",
         b.person2(spans=(("EW", "own_home", "2024-01-01", ""), ("CADI", "own_home", "2025-01-01", ""))))
    line("IHS-WAIVER two spans, EW and TANF",
         b.person2(spans=(("EW", "own_home", "2024-01-01", ""), ("TANF", "own_home", "2025-01-01", ""))),
         expect=("denied", "IHS-WAIVER"))

    # ---------------------------------------------------------------- GEN-INPATIENT (42 CFR 441.301; Clarification 17)
    p = b.person2()  # a hospital stay 2026-02-05 .. 2026-02-15
    b.stay(p, "2026-02-05", "2026-02-15")
    b.sa_line(p, ihs, "IHS_WT")
    for d, label, expect in (("2026-02-04", "GEN-INPATIENT pass: the day before admission", None),
                             ("2026-02-05", "GEN-INPATIENT pass: admission day", None),
                             ("2026-02-06", "GEN-INPATIENT the day after admission", "GEN-INPATIENT"),
                             ("2026-02-14", "GEN-INPATIENT the day before discharge", "GEN-INPATIENT"),
                             ("2026-02-15", "GEN-INPATIENT pass: discharge day", None)):
        line(label, p, day=d, sa=False, expect=("denied", expect) if expect else ("paid", None))
    p = b.person2()  # a transfer: hospital to nursing facility on 2026-02-08
    b.stay(p, "2026-02-01", "2026-02-08")
    b.stay(p, "2026-02-08", "2026-02-12", "nursing_facility")
    b.sa_line(p, ihs, "IHS_WT")
    line("GEN-INPATIENT transfer date", p, day="2026-02-08", sa=False, expect=("denied", "GEN-INPATIENT"))
    line("GEN-INPATIENT pass: discharge day after the transfer", p, day="2026-02-12", sa=False)
    p = b.person2()  # a stay admitted and discharged on one date adds no inpatient date, not even a transfer of itself
    b.stay(p, "2026-02-10", "2026-02-10", "icf_dd")
    line("GEN-INPATIENT pass: a same-day stay", p)
    p = b.person2()  # a same-day stay on the date another stay is discharged: a transfer
    b.stay(p, "2026-02-01", DAY)
    b.stay(p, DAY, DAY, "nursing_facility")
    line("GEN-INPATIENT discharged and admitted to a same-day stay", p, expect=("denied", "GEN-INPATIENT"))
    p = b.person2()  # an open stay (still admitted) covers every later date
    b.stay(p, "2026-01-20")
    b.sa_line(p, cma, "CM")
    b.sa_line(p, cma, "CMA")
    line("GEN-INPATIENT open stay", p, expect=("denied", "GEN-INPATIENT"))
    line("GEN-INPATIENT pass: case management is excepted", p, "CM", sa=False, **cm)
    line("GEN-INPATIENT aide services are not excepted", p, "CMA", day="2026-02-11", sa=False,
         expect=("denied", "GEN-INPATIENT"), **cmaide)
    p = b.person2(spans=(tanf,), birth="1990-01-01")
    b.stay(p, "2026-01-20")
    line("GEN-INPATIENT pass: TCM is not a waiver service", p, "TCM_OR", **tcmkw)
    line("GEN-INPATIENT pass: no stay of this person", b.person2())

    # ---------------------------------------------------------------- IHS-FT-HOME / IHS-FT-FOSTER (003; Clarification 17)
    line("IHS-FT-HOME own home", b.person2(), "IHS_FT", expect=("denied", "IHS-FT-HOME"))
    line("IHS-FT-HOME customized living", b.person2(spans=(("CADI", "customized_living", "2024-01-01", ""),)), "IHS_FT",
         expect=("denied", "IHS-FT-HOME"))
    line("IHS-FT-HOME pass: family home", b.person2(spans=(("CADI", "family_home", "2024-01-01", ""),)), "IHS_FT")
    line("IHS-FT-HOME pass: two spans, one in the family home",
         b.person2(spans=(("CADI", "family_home", "2024-01-01", ""), ("CADI", "own_home", "2025-06-01", ""))), "IHS_FT")
    line("IHS-FT-HOME two spans, neither in the family home",
         b.person2(spans=(("CADI", "own_home", "2024-01-01", ""), ("DD", "customized_living", "2025-06-01", ""))),
         "IHS_FT", expect=("denied", "IHS-FT-HOME"))
    line("IHS-FT-HOME the family-home span ended the day before",
         b.person2(spans=(("CADI", "family_home", "2024-01-01", "2026-02-09"), ("CADI", "own_home", "2026-02-10", ""))),
         "IHS_FT", expect=("denied", "IHS-FT-HOME"))
    # revision 1 took the latest span (foster): now any span that satisfies the rule passes it
    line("IHS-FT-FOSTER pass: an earlier family-home span still covers the date",
         b.person2(spans=(("CADI", "family_home", "2024-01-01", ""), ("CADI", "licensed_foster_family", "2025-06-01", ""))),
         "IHS_FT")
    line("IHS-FT-FOSTER every covering span is foster care",
         b.person2(spans=(("CADI", "licensed_foster_family", "2024-01-01", ""), ("CADI", "family_residential", "2025-06-01", ""))),
         "IHS_FT", expect=("denied", "IHS-FT-FOSTER"))

    # ---------------------------------------------------------------- CM-AGENCY (000, 004)
    line("CM-AGENCY case management by a provider that is not a CM agency", b.person2(), "CM",
         expect=("denied", "CM-AGENCY"), prov=notcm, staff=notcm_cm)
    line("CM-AGENCY pass: a case management agency", b.person2(), "CM", **cm)
    line("CM-AGENCY pass: IHS by a provider that is not a CM agency", b.person2())

    # ---------------------------------------------------------------- Clarification 8
    line("IHS-WT-ADULT born 29 February: 17 on 28 February", b.person2(birth="2008-02-29"), day="2026-02-28",
         expect=("denied", "IHS-WT-ADULT"))
    line("IHS-WT-ADULT pass: born 29 February, 18 on 1 March", b.person2(birth="2008-02-29"), day="2026-03-01")
    line("TCM-AGE born 29 February: 13 on 28 February", b.person2(spans=(tanf,), birth="2012-02-29"), "TCM_OR",
         day="2026-02-28", expect=("denied", "TCM-AGE"), **tcmkw)
    line("TCM-AGE pass: born 29 February, 14 on 1 March", b.person2(spans=(tanf,), birth="2012-02-29"), "TCM_OR",
         day="2026-03-01", **tcmkw)
    line("GEN-STAFF employment ended the day before", b.person2(), staff=b.staff_member(ihs, end_date="2026-02-09"),
         expect=("denied", "GEN-STAFF"))
    line("GEN-STAFF pass: employed on the end date", b.person2(), staff=b.staff_member(ihs, end_date=DAY))
    line("GEN-AUTH-NONE agreement ended the day before", b.person2(), start="2025-01-01", end="2026-02-09",
         expect=("denied", "GEN-AUTH-NONE"))
    line("GEN-AUTH-NONE pass: agreement ends that day", b.person2(), start="2025-01-01", end=DAY)
    line("GEN-AUTH-NONE pass: agreement starts that day", b.person2(), start=DAY, end="2026-12-31")

    # ---------------------------------------------------------------- Clarification 10: TCM agreements carry TANF
    line("TCM pass: agreement on program TANF, code without modifiers", b.person2(spans=(tanf,), birth="1990-01-01"),
         "TCM_OR", **tcmkw)

    # ---------------------------------------------------------------- Clarification 11: CO-284 / CO-296 by service key
    p = b.person2()
    b.sa_line(p, other, "IHS_WT")["modifiers"] = "UC UN U3"  # another provider, 1:2 of the same key
    line("GEN-AUTH-NONE CO-296: a 1:2 line of the same key for another provider", p, sa=False,
         expect=("denied", "GEN-AUTH-NONE"))
    p = b.person2()
    b.sa_line(p, ihs, "IHS_WT")["modifiers"] = "UC UN U3"  # the same provider, 1:2 of the same key
    line("GEN-AUTH-NONE CO-197: a 1:2 line of the same key, same provider", p, sa=False,
         expect=("denied", "GEN-AUTH-NONE"))
    p = b.person2()
    b.sa_line(p, ihs, "IHS_WOT")  # the same provider, another service
    line("GEN-AUTH-NONE CO-284: the provider holds another service", p, sa=False, expect=("denied", "GEN-AUTH-NONE"))
    auth_codes = {"GEN-AUTH-NONE CO-296: a 1:2 line of the same key for another provider": "296",
                  "GEN-AUTH-NONE CO-197: a 1:2 line of the same key, same provider": "197",
                  "GEN-AUTH-NONE CO-284: the provider holds another service": "284",
                  "GEN-AUTH-NONE agreement ended the day before": "197"}

    # ---------------------------------------------------------------- findings (revision 2)
    f = {}
    for label, units in (("AUTH-MAX-DEFAULT", 64 * 28), ("AUTH-MAX-DEFAULT pass: one unit less", 64 * 28 - 1)):
        q = f[label] = b.person2()
        b.sa_line(q, ihs, "IHS_WT", units, start="2026-02-01", end="2026-02-28")
    q = f["AUTH-MAX-DEFAULT pass: a daily line"] = b.person2()
    b.sa_line(q, ihs, "IHS_WT_DAY", 28, start="2026-02-01", end="2026-02-28")
    agency = b.provider(licenses="", cm="Y")
    for label, n_sa, n_contact, overlap, sa_end in (
            ("IL-CASELOAD agreements only", 31, 0, 0, "2026-12-31"),
            ("IL-CASELOAD pass: 30 on agreements", 30, 0, 0, "2026-12-31"),
            ("IL-CASELOAD agreements and contacts together", 20, 11, 0, "2026-12-31"),
            ("IL-CASELOAD pass: the same people on both counted once", 20, 11, 1, "2026-12-31"),
            ("IL-CASELOAD pass: agreements that ended before the month", 31, 0, 0, "2026-02-28")):
        manager = f[label] = b.staff_member(agency, "case_manager")
        people = [b.person2() for _ in range(n_sa)]
        for q in people:
            row = b.sa_line(q, agency, "CM", 10, start="2025-01-01", end=sa_end)
            row["case_manager_id"] = manager
        for i in range(n_contact):
            q = people[i] if overlap else b.person2()
            b.contact(q, agency, manager, "CM", f"2026-02-{1 + i:02d}", "08:00", 30)
    first = b.stays[0]  # the same stay twice in one drop: the repeat is FE-VALUE
    stay_rejects = STAY_REJECTS + [(",".join(first[c] for c in STAY_COLS), "FE-VALUE")]
    b.stay_lines = [ln for ln, _ in stay_rejects]
    return b, {"auth_codes": auth_codes, "subjects": f, "stay_rejects": stay_rejects}


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    root = tmp_path_factory.mktemp("rev2")
    b, extra = build()
    b.write(root)
    wh = root / "wh" / "claimrecon.duckdb"
    q = {"outcomes": "SELECT icn, line_no, outcome, primary_rule_id, billed_amount, paid_amount, adjusted_amount "
                     "FROM claim_outcomes WHERE row_type = 'line' ORDER BY icn, line_no",
         "ledger": "SELECT icn, line_no, rule_id, carc, rarc, units, amount, is_primary, citation, evidence FROM denial_ledger "
                   "ORDER BY ALL",
         "findings": "SELECT rule_id, recipient_id, staff_id, sa_number, evidence FROM findings ORDER BY ALL",
         "rejects": "SELECT source_file, row_number, record_kind, rule_id, raw_record FROM rejected_records ORDER BY ALL",
         "files": "SELECT kind, source_file, status, detail_lines, loaded_rows, rejected_rows FROM input_files ORDER BY ALL",
         "stays": "SELECT recipient_id, facility_type, admit_date, discharge_date FROM facility_stays ORDER BY ALL"}
    runs = []
    for _ in range(2):  # run twice: identical rows, balanced both times
        run_period(root, PERIOD, wh)
        with ro(wh) as con:
            runs.append({k: con.sql(v).fetchall() for k, v in q.items()})
    out = dict(runs[-1])
    out.update(book=b, runs=runs, root=root, **extra)
    out["by_key"] = {(r[0], r[1]): r[2:] for r in out["outcomes"]}
    return out


CASES = list(build()[0].cases)


@pytest.mark.parametrize("case", CASES)
def test_hand_made_line(month, case):
    want = month["book"].cases[case]
    key = (want["icn"], want["line_no"])
    outcome, primary, billed, paid, adjusted = month["by_key"][key]
    assert (outcome, primary) == (want["outcome"], want["rule"]), case
    assert billed == paid + adjusted
    ledger = [r for r in month["ledger"] if (r[0], r[1]) == key]
    if want["outcome"] == "denied":
        (prim,) = [r for r in ledger if r[7]]
        rule = RULES[want["rule"]]
        assert prim[2] == want["rule"] and prim[6] == billed and paid == 0
        if want["rule"] != "GEN-AUTH-NONE":
            assert (prim[3], prim[4] or "", prim[8]) == (rule.carc, rule.rarc, rule.citation)
    else:
        assert paid == billed and [r for r in ledger if r[2] != "GEN-PRICE"] == []


def test_every_new_claim_edit_fails_and_passes():
    for rid in ("GEN-DECEASED", "GEN-PROGRAM", "GEN-INPATIENT", "IHS-FT-HOME", "CM-AGENCY", "GEN-ELIGIBILITY"):
        mine = [n for n in CASES if n.split(" ")[0].rstrip(":") == rid]
        assert [n for n in mine if " pass" not in n] and [n for n in mine if " pass" in n], rid


def test_auth_none_variants_compare_service_keys(month):
    """Clarification 11: a 1:2 line of the same key is the same service (CO-296 for another provider; for the
    same provider it is neither 'another service' nor 'another provider': CO-197)."""
    cases = month["book"].cases
    for case, carc in month["auth_codes"].items():
        key = (cases[case]["icn"], cases[case]["line_no"])
        (prim,) = [r for r in month["ledger"] if (r[0], r[1]) == key and r[7]]
        assert (prim[2], prim[3], prim[4]) == ("GEN-AUTH-NONE", carc, "N54"), case


def test_secondary_reasons_are_recorded(month):
    """A line denied under GEN-DECEASED whose span also ended records GEN-ELIGIBILITY (and the span rules) at zero."""
    c = month["book"].cases["GEN-DECEASED outranks GEN-ELIGIBILITY"]
    rows = {r[2]: (r[5], r[7]) for r in month["ledger"] if (r[0], r[1]) == (c["icn"], c["line_no"])}
    assert rows["GEN-DECEASED"] == (Decimal("8.00"), True)
    assert rows["GEN-ELIGIBILITY"] == (Decimal("0.00"), False) and rows["GEN-PROGRAM"] == (Decimal("0.00"), False)


def test_denials_carry_their_evidence(month):
    cases = month["book"].cases

    def evidence(case):
        c = cases[case]
        (row,) = [r for r in month["ledger"] if (r[0], r[1]) == (c["icn"], c["line_no"]) and r[7]]
        return json.loads(row[9])

    assert evidence("GEN-INPATIENT the day after admission")["facility_stay"] == "hospital 2026-02-05..2026-02-15"
    assert evidence("GEN-INPATIENT transfer date")["facility_stay"] == "nursing_facility 2026-02-08..2026-02-12"
    assert evidence("GEN-INPATIENT open stay")["facility_stay"] == "hospital 2026-01-20..open"
    assert evidence("CM-AGENCY case management by a provider that is not a CM agency")["case_management_agency"] == "N"
    assert evidence("IHS-FT-HOME two spans, neither in the family home")["living_arrangement"] == "customized_living own_home"
    assert evidence("GEN-PROGRAM TCM without a TANF span")["waiver_program"] == "CADI"
    assert "death_date" not in evidence("GEN-DECEASED died the day before")  # PHI stays out of the evidence


def test_run_twice_identical_and_balanced(month):
    a, b = month["runs"]
    assert a == b
    total = sum(r[4] for r in month["outcomes"])
    assert total == sum(r[5] for r in month["outcomes"]) + sum(r[6] for r in month["outcomes"])
    assert sum(r[6] for r in month["ledger"]) == sum(r[6] for r in month["outcomes"])


def test_facility_stays_front_end_rejects_are_kept_and_counted(month):
    """Every facility_stays record is loaded or rejected with file, row and raw text (conservation)."""
    b = month["book"]
    name = f"{PERIOD}/reference/facility_stays.csv"
    rej = [(r[1], r[3], r[4]) for r in month["rejects"] if r[0] == name]
    first = len(b.stays) + 2  # the header is row 1
    want = month["stay_rejects"]
    assert rej == [(first + i, rule, ln) for i, (ln, rule) in enumerate(want)]
    (f,) = [r for r in month["files"] if r[1] == name]
    assert f == ("facility_stays", name, "loaded", len(b.stays) + len(want), len(b.stays), len(want))
    assert len(month["stays"]) == len(b.stays)


def test_recipient_death_before_birth_is_rejected():
    frame = pl.DataFrame([{"recipient_id": "12345678", "birth_date": "1980-05-17", "waiver_program": "CADI",
                           "span_start": start, "span_end": None, "living_arrangement": "own_home",
                           "sleep_start": None, "sleep_end": None, "death_date": d}
                          for start, d in (("2024-01-01", "1980-05-16"), ("2025-01-01", "1980-05-17"), ("2026-01-01", None))],
                         schema={c: pl.Utf8 for c in fe.columns("recipients")})
    assert fe.validate("recipients", frame).select("_idx", "rule_id").rows() == [(0, "FE-VALUE")]


@pytest.mark.parametrize("procedure,modifiers,rule", [
    ("T1016", None, "FE-REQUIRED"),   # the catalog lists modifiers for T1016: required
    ("T1016", "UC", None),
    ("T1017", None, None),            # TCM_OR: the catalog lists none, so none are required
    ("T1017", "UC", "FE-CODE"),
])
def test_modifiers_required_only_where_the_catalog_lists_them(procedure, modifiers, rule):
    """Clarification 10 (revision 1 rejected a code without modifiers as FE-CODE whatever the catalog said)."""
    from tests.test_front_end import frame as claim

    fails = fe.validate("claims", claim({"procedure_code": procedure, "modifiers": modifiers}),
                        ["T1016|UC", "T1016|TF UC", "T1017|"])
    assert fails["rule_id"].to_list() == ([rule] if rule else [])


def test_tanf_agreements_load():
    """Clarification 10: agreements for TCM_OR carry waiver_program TANF (revision 1 rejected it as FE-FORMAT)."""
    from claimrecon.generator import SA_COLS
    row = {"sa_number": "0000000001", "line_no": "1", "sa_status": "A", "line_status": "A", "recipient_id": "12345678",
           "provider_id": "1234567893", "procedure_code": "T1017", "modifiers": None, "start_date": "2026-01-01",
           "end_date": "2026-12-31", "authorized_units": "100", "unit_rate": "15.00", "waiver_program": "TANF",
           "remote_exception_units": None, "case_manager_id": None}
    rows = [row, dict(row, line_no="2", waiver_program="MA"),
            dict(row, line_no="3", procedure_code="T1016", waiver_program="CADI"),   # CM without its modifier
            dict(row, line_no="4", procedure_code="T1016", modifiers="UC", waiver_program="CADI")]
    frame = pl.DataFrame(rows, schema={c: pl.Utf8 for c in SA_COLS})
    assert fe.validate("authorizations", frame, ["T1017|", "T1016|UC"]).select("_idx", "rule_id").rows() == [
        (1, "FE-FORMAT"), (2, "FE-REQUIRED")]


@pytest.mark.parametrize("rule", ["AUTH-MAX-DEFAULT", "IL-CASELOAD"])
def test_revision_2_findings(month, rule):
    f = month["subjects"]
    subjects = {k: v for k, v in f.items() if k.split(" ")[0] == rule}
    col = 2 if rule == "IL-CASELOAD" else 1
    hits = {r[col]: json.loads(r[4]) for r in month["findings"] if r[0] == rule}
    for label, subject in subjects.items():
        assert (subject in hits) == (" pass" not in label), (label, hits.get(subject))
    if rule == "IL-CASELOAD":
        assert hits[f["IL-CASELOAD agreements only"]] == {"people_served": 31, "people_on_agreements": 31,
                                                          "people_with_contacts": 0}
        assert hits[f["IL-CASELOAD agreements and contacts together"]]["people_served"] == 31
    else:
        ev = hits[f["AUTH-MAX-DEFAULT"]]
        assert (Decimal(str(ev["authorized_units"])), ev["span_days"], ev["daily_max"]) == (Decimal(64 * 28), 28, 64)


# ------------------------------------------------------------------------------------ the snapshot over months

def test_stays_snapshot_is_kept_until_a_new_drop_and_old_inboxes_load(tmp_path):
    """A month without facility_stays.csv keeps the previous snapshot; a drop with the header only clears it.
    An inbox of revision 1 (no death_date column, no facility_stays.csv) still loads and pays."""
    b = Book2("2026-02")
    prov = b.provider()
    ds = b.staff_member(prov)
    p = b.person2()
    b.sa_line(p, prov, "IHS_WT")
    b.stays = None  # month 1: a revision-1 inbox
    b.contact(p, prov, ds, "IHS_WT", "2026-01-20", "09:00", 120)
    b.claim("m1", p, prov, "IHS_WT", "2026-01-20", 8, received="2026-02-10")
    b.write(tmp_path)
    rec = tmp_path / "2026-02" / "reference" / "recipients.csv"
    _write_csv(rec, [c for c in REC_COLS if c != "death_date"], b.recipients)
    assert "death_date" not in rec.read_text()
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    expected = {"m1": "paid"}
    for period, stays, day, case, outcome in (
            ("2026-03", [{"recipient_id": p, "facility_type": "hospital", "admit_date": "2026-02-01",
                          "discharge_date": ""}], "2026-02-20", "m2", "GEN-INPATIENT"),
            ("2026-04", None, "2026-03-20", "m3", "GEN-INPATIENT"),     # no file: the March snapshot stays in force
            ("2026-05", [], "2026-04-20", "m4", "paid")):               # header only: no one is an inpatient
        run_period(tmp_path, b.period, wh)
        b.period, b.claims, b.logs, b.stays = period, [], [], stays
        b.contact(p, prov, ds, "IHS_WT", day, "09:00", 120)
        b.claim(case, p, prov, "IHS_WT", day, 8, received=f"{period}-10")
        b.write(tmp_path)
        expected[case] = outcome
    run_period(tmp_path, b.period, wh)
    with ro(wh) as con:
        got = dict(con.sql("SELECT icn, coalesce(primary_rule_id, outcome) FROM claim_outcomes WHERE row_type = 'line'")
                   .fetchall())
        deaths = con.sql("SELECT DISTINCT period, death_date FROM recipients ORDER BY 1").fetchall()
        files = con.sql("SELECT period, status FROM input_files WHERE kind = 'facility_stays' ORDER BY 1").fetchall()
    assert {c: got[b.cases[c]["icn"]] for c in expected} == expected
    # 2026-03 gained the death_date column (a new snapshot); later drops resent it: skipped as duplicates
    assert deaths == [("2026-02", None), ("2026-03", None)]
    assert files == [("2026-03", "loaded"), ("2026-05", "loaded")]


def test_stays_columns_are_the_dictionary_s():
    assert STAY_COLS == fe.columns("facility_stays") == ["recipient_id", "facility_type", "admit_date", "discharge_date"]
    assert "death_date" in REC_COLS and "death_date" in fe.columns("recipients")


def test_catalog_page_shows_revision_dates_variants_and_parameter_sources(monkeypatch):
    from claimrecon import catalog

    page = catalog.render()
    assert "**revision 2**" in page
    row = next(ln for ln in page.splitlines() if ln.startswith("| `GEN-AUTH-NONE`"))
    assert "CO-284 N54" in row and "CO-296 N54" in row and "| every date |" in row
    row = next(ln for ln in page.splitlines() if ln.startswith("| `GEN-INPATIENT`"))
    assert row.endswith("| every date | 2 |") and "42 CFR 441.301" in row
    row = next(ln for ln in page.splitlines() if ln.startswith("| `IHS-FT-HOME`"))
    assert row.endswith("| from 2020-12-15 | 2 |") and "003_56516edcdfaf4014.txt" in row
    row = next(ln for ln in page.splitlines() if ln.startswith("| `round_up_remainder_minutes`"))
    assert "| 8 | yes |" in row and "chosen here, unconfirmed" in row
    assert sum(ln.startswith("| `") and "| yes |" in ln for ln in page.split("## Parameters")[1].splitlines()) >= 9
    monkeypatch.delitem(catalog.PARAMETER_SOURCES, "daily_cap_units")
    with pytest.raises(ValueError, match="daily_cap_units"):
        catalog.render()


# ------------------------------------------------------------------ inpatient dates against Clarification 17's words

def _inpatient(date, stays) -> bool:
    """Clarification 17 read literally: strictly between a stay's admission and discharge (an open stay: every
    later date), or one stay's discharge date that is another stay's admission date."""
    between = any(a < date and (d is None or date < d) for _, a, d in stays)
    transfer = any(s1[2] == date and s2[1] == date for i, s1 in enumerate(stays) for j, s2 in enumerate(stays) if i != j)
    return between or transfer


STAY = st.tuples(st.sampled_from(fe.FACILITY_TYPES), st.integers(0, 13), st.one_of(st.none(), st.integers(0, 6)))


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(STAY, max_size=4), min_size=12, max_size=12))
@example([[("hospital", 2, 3), ("nursing_facility", 5, 2)],   # a transfer on day 5
          [("icf_dd", 4, 0)],                                  # a same-day stay: no inpatient date
          [("hospital", 1, None)],                             # an open stay
          [("hospital", 3, 0), ("icf_dd", 3, 2)],              # a same-day stay ending where another begins
          [("hospital", 6, 4), ("hospital", 7, 1)],            # overlapping stays
          [("nursing_facility", 0, 13)]] + [[]] * 6)
def test_inpatient_dates_match_the_definition(tmp_path_factory, people):
    """Random stays (open, same-day, back to back, overlapping) for 12 people, an IHS line on each of 14 days:
    exactly the inpatient dates of the definition are denied GEN-INPATIENT, every other line is paid."""
    import datetime as dt

    root = tmp_path_factory.mktemp("stays")
    first = dt.date(2026, 2, 1)
    b = Book2()
    prov = b.provider()
    staff = b.staff_member(prov)
    expected = {}
    for n, raw in enumerate(people):
        p = b.person2()
        b.sa_line(p, prov, "IHS_WT")
        stays, seen = [], set()
        for facility, admit, length in raw:
            if (facility, admit) in seen:
                continue  # (recipient, facility, admission) is the file's key: a repeat would be FE-VALUE
            seen.add((facility, admit))
            a = first + dt.timedelta(days=admit)
            d = None if length is None else a + dt.timedelta(days=length)
            stays.append((facility, a, d))
            b.stay(p, a.isoformat(), d.isoformat() if d else "", facility)
        worker = b.twin(staff)
        for k in range(14):
            day = first + dt.timedelta(days=k)
            b.contact(p, prov, worker, "IHS_WT", day.isoformat(), "09:00", 120)
            case = f"{n} {day}"
            b.claim(case, p, prov, "IHS_WT", day.isoformat(), 8, received=RECEIVED)
            expected[case] = "GEN-INPATIENT" if _inpatient(day, stays) else "paid"
    b.write(root)
    wh = root / "wh" / "claimrecon.duckdb"
    run_period(root, PERIOD, wh)
    with ro(wh) as con:
        got = dict(con.sql("SELECT icn, coalesce(primary_rule_id, outcome) FROM claim_outcomes WHERE row_type = 'line'")
                   .fetchall())
    assert {case: got[c["icn"]] for case, c in b.cases.items()} == expected


def test_a_warehouse_from_before_gains_death_date_and_facility_stays(tmp_path):
    """schema.sql runs at the start of every run: a revision-1 warehouse file gains the new column and table."""
    import duckdb

    from claimrecon.db import run_script

    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("""CREATE TABLE recipients (period VARCHAR, recipient_id VARCHAR, birth_date DATE,
            waiver_program VARCHAR, span_start DATE, span_end DATE, living_arrangement VARCHAR, sleep_start VARCHAR,
            sleep_end VARCHAR, extra_columns VARCHAR, source_file VARCHAR, source_row BIGINT, file_sha256 VARCHAR)""")
        con.execute("INSERT INTO recipients (period, recipient_id) VALUES ('2025-12', '12345678')")
        run_script(con, "schema.sql")
        run_script(con, "schema.sql")  # and again: idempotent
        cols = [r[0] for r in con.execute("DESCRIBE recipients").fetchall()]
        assert cols[-1] == "death_date" and con.execute("SELECT death_date FROM recipients").fetchall() == [(None,)]
        assert con.execute("SELECT count(*) FROM facility_stays").fetchone() == (0,)
