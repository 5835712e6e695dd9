"""Sample inboxes in the extracts.md format, with a ground-truth file.

The world: IHS providers, case management agencies and their staff; people on BI/CAC/CADI/DD waivers,
each with an IHS provider and a case management agency and four agreement lines (IHS with training in
person and remote, case management, case management aide). Every month each person gets documented
contacts and matching claim lines that are clean by construction (eligible, enrolled, authorized with
units to spare, documented to the unit, under every cap).

Faults are injected on *their own* people so that exactly one rule decides each faulty line; the
ground truth names the expected outcome and primary rule per claim line (and per rejected record), so
tests compare the pipeline against intent, not against a second copy of the engine.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import random
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from contracts.front_end import npi_check_digit

CLAIM_COLS = ["icn", "line_no", "adjustment_ind", "original_icn", "received_date", "billing_provider_id", "recipient_id",
              "procedure_code", "modifiers", "service_date", "units", "billed_amount", "place_of_service", "diagnosis_code",
              "patient_control_number"]
SA_COLS = ["sa_number", "line_no", "sa_status", "line_status", "recipient_id", "provider_id", "procedure_code", "modifiers",
           "start_date", "end_date", "authorized_units", "unit_rate", "waiver_program", "remote_exception_units",
           "case_manager_id"]
LOG_COLS = ["log_id", "provider_id", "staff_id", "recipient_id", "procedure_code", "modifiers", "service_date",
            "start_time", "end_time", "minutes", "delivery_mode", "contact_method", "two_way", "activity",
            "staff_location", "ratio", "tcm_flag", "narrative"]
REC_COLS = ["recipient_id", "birth_date", "waiver_program", "span_start", "span_end", "living_arrangement",
            "sleep_start", "sleep_end"]
PROV_COLS = ["provider_id", "name", "enrollment_start", "enrollment_end", "licenses", "case_management_agency", "tin"]
STAFF_COLS = ["staff_id", "provider_id", "role", "hire_date", "end_date", "background_study_date", "high_school_graduate",
              "qualifying_experience_months", "postsecondary_years", "supervisor_staff_id", "training_hours_12m"]

SVC = {  # service key -> (procedure, modifiers, rate)
    "IHS_WT": ("H2014", "UC U3", Decimal("9.50")), "IHS_WT_REMOTE": ("H2014", "UC U3 U4", Decimal("8.00")),
    "IHS_WT_DAY": ("H2014", "UC U3 TG", Decimal("210.00")), "IHS_WOT": ("S5135", "UC", Decimal("7.25")),
    "IHS_FT": ("S5125", "UC", Decimal("9.75")), "CM": ("T1016", "UC", Decimal("20.00")),
    "CMA": ("T1016", "TF UC", Decimal("12.00")), "ADULT_DAY": ("S5100", "", Decimal("5.00")),
    "CRS": ("T2016", "UC", Decimal("250.00")), "TCM_OR": ("T1017", "", Decimal("15.00")),
    "IHS_WT_1TO2": ("H2014", "UC UN U3", Decimal("6.50")),  # the 1:2 code of IHS_WT (same service key)
}
SPAN = (dt.date(2024, 1, 1), dt.date(2028, 12, 31))
SCALES = {"demo": {"people": 40, "faults": 1, "ihs_providers": 4, "cm_agencies": 2},
          "county": {"people": 5_000, "faults": 2, "ihs_providers": 50, "cm_agencies": 12},
          "state": {"people": 125_000, "faults": 40, "ihs_providers": 1200, "cm_agencies": 300}}

CLAIM_FAULTS = ["GEN-ELIGIBILITY", "GEN-PROVIDER", "GEN-TIMELY", "GEN-DUPLICATE", "IHS-WAIVER", "IHS-WT-ADULT",
                "IHS-FT-FOSTER", "IHS-LICENSE", "IHS-RESIDENTIAL", "IHS-REMOTE-NO-INPERSON", "IHS-DAY-OVERLAP",
                "CM-CONFLICT", "CM-AIDE-ONE-PROVIDER", "TCM-AGE", "GEN-AUTH-NONE", "GEN-DOC-NONE", "IHS-DAY-MIN",
                "GEN-DOC-UNITS", "GEN-AUTH-UNITS", "IHS-DAILY-CAP", "IHS-REMOTE-CAP", "GEN-PRICE",
                "CM-AIDE-AS-CM", "CM-AIDE-TASK", "CM-AIDE-QUALIFIED", "GEN-STAFF", "IHS-REMOTE-2WAY",
                "IHS-REMOTE-METHOD", "IHS-REMOTE-SOCIAL", "IHS-REMOTE-SCOPE", "IHS-REMOTE-DOCS", "IHS-REMOTE-RATIO",
                "IHS-CONCURRENT", "IHS-SLEEP", "IHS-NONCOVERED", "TCM-FLAG"]
#: revision 2 service-log contracts: injected by _rev2_log_fault, both sides of each boundary
REV2_LOG_FAULTS = ["CM-STAFF", "TCM-STAFF", "IHS-DELIVERY-CODE", "IHS-RATIO-CODE", "GEN-STAFF-OVERLAP",
                   "GEN-PERSON-OVERLAP"]
CLAIM_FAULTS += REV2_LOG_FAULTS
PARTIAL = {"GEN-DOC-UNITS", "GEN-AUTH-UNITS", "IHS-DAILY-CAP", "IHS-REMOTE-CAP"}
FE_FAULTS = ["FE-PARSE", "FE-REQUIRED", "FE-FORMAT", "FE-CODE", "FE-VALUE", "FE-ADJUSTMENT"]


def month_add(period: str, n: int) -> str:
    y, m = map(int, period.split("-"))
    m += n
    y += (m - 1) // 12
    m = (m - 1) % 12 + 1
    return f"{y:04d}-{m:02d}"


def month_days(period: str) -> list[dt.date]:
    y, m = map(int, period.split("-"))
    d = dt.date(y, m, 1)
    out = []
    while d.month == m:
        out.append(d)
        d += dt.timedelta(days=1)
    return out


def hhmm(minute: int) -> str:
    minute %= 1440
    return f"{minute // 60:02d}:{minute % 60:02d}"


def ampm(minute: int) -> str:
    minute %= 1440
    h, m = divmod(minute, 60)
    return f"{(h % 12) or 12}:{m:02d} {'AM' if h < 12 else 'PM'}"


def units_of(minutes: int) -> int:
    return minutes // 15 + (1 if minutes % 15 >= 8 else 0)


@dataclass
class Month:
    claims: list[dict] = field(default_factory=list)
    logs: dict[str, list[dict]] = field(default_factory=dict)  # provider -> contacts
    truth: list[dict] = field(default_factory=list)


class World:
    def __init__(self, seed: int, scale: str, start: str):
        self.rng = random.Random(seed)
        self.cfg = SCALES[scale]
        self.start = start
        self.pmi = 10_000_000 + self.rng.randrange(1000) * 10_000
        self.npi_base = 100_000_000 + self.rng.randrange(1000) * 100_000
        self.sa_seq = 1_000_000_000 + self.rng.randrange(1000) * 1_000_000
        self.icn_seq = 0
        self.log_seq = 0
        self.providers: list[dict] = []
        self.staff: list[dict] = []
        self._staff_by_id: dict[str, dict] = {}
        self.recipients: list[dict] = []
        self.sa: list[dict] = []
        self.people: list[dict] = []  # bulk people
        self.pending: dict[str, Month] = {}
        self._build()
        _x12_world(self)

    # ------------------------------------------------------------------ ids
    def new_npi(self) -> str:
        self.npi_base += 1
        b = str(self.npi_base)[-9:]
        return b + str(npi_check_digit(b))

    def new_pmi(self) -> str:
        self.pmi += 1
        return f"{self.pmi:08d}"

    def new_icn(self, period: str) -> str:
        self.icn_seq += 1
        return f"{period.replace('-', '')}{self.icn_seq:09d}"

    def new_sa(self) -> str:
        self.sa_seq += 1
        return f"{self.sa_seq:010d}"

    def new_log(self) -> str:
        self.log_seq += 1
        return f"L{self.log_seq:09d}"

    # ------------------------------------------------------------------ world
    def provider(self, licenses="245D_BASIC 245D_INTENSIVE", cm="N", end="", name="Provider") -> str:
        pid = self.new_npi()
        self.providers.append({"provider_id": pid, "name": f"{name} {len(self.providers) + 1}",
                               "enrollment_start": "2020-01-01", "enrollment_end": end, "licenses": licenses,
                               "case_management_agency": cm})
        return pid

    def staff_member(self, provider: str, role: str, **kw) -> str:
        sid = f"S{len(self.staff) + 1:06d}"
        row = {"staff_id": sid, "provider_id": provider, "role": role, "hire_date": "2021-01-01", "end_date": "",
               "background_study_date": "2020-12-15", "high_school_graduate": "Y", "qualifying_experience_months": "24",
               "postsecondary_years": "0", "supervisor_staff_id": "", "training_hours_12m": "16"}
        row.update(kw)
        self.staff.append(row)
        self._staff_by_id[sid] = row
        return sid

    def twin(self, sid: str) -> str:
        """A new staff member with every attribute of `sid`: each fault person's contacts are documented by a
        worker of their own, so no two fault people share a staff member's time (GEN-STAFF-OVERLAP, rev. 2)."""
        new = f"S{len(self.staff) + 1:06d}"
        row = dict(self._staff_by_id[sid], staff_id=new)
        self.staff.append(row)
        self._staff_by_id[new] = row
        return new

    def person(self, program="CADI", birth="1980-05-17", living="own_home", span=None) -> str:
        pmi = self.new_pmi()
        s = span or SPAN
        self.recipients.append({"recipient_id": pmi, "birth_date": birth, "waiver_program": program,
                                "span_start": s[0].isoformat(), "span_end": s[1].isoformat() if s[1] else "",
                                "living_arrangement": living, "sleep_start": "", "sleep_end": ""})
        return pmi

    def sa_line(self, pmi, provider, key, units=3000, program="CADI", start=None, end=None, exception="0", cm_id="",
                sa_number=None, line_no=1) -> dict:
        proc, mods, rate = SVC[key]
        row = {"sa_number": sa_number or self.new_sa(), "line_no": str(line_no), "sa_status": "A", "line_status": "A",
               "recipient_id": pmi, "provider_id": provider, "procedure_code": proc, "modifiers": mods,
               "start_date": (start or SPAN[0]).isoformat(), "end_date": (end or SPAN[1]).isoformat(),
               "authorized_units": str(units), "unit_rate": str(rate), "waiver_program": program,
               "remote_exception_units": exception, "case_manager_id": cm_id}
        self.sa.append(row)
        return row

    def _build(self):
        cfg = self.cfg
        self.ihs_providers = []
        for _ in range(cfg["ihs_providers"]):
            pid = self.provider()
            self.ihs_providers.append((pid, [self.staff_member(pid, "direct_support") for _ in range(3)]))
        self.cm_agencies = []
        for _ in range(cfg["cm_agencies"]):
            pid = self.provider(licenses="", cm="Y", name="County CM")
            cms = [self.staff_member(pid, "case_manager") for _ in range(2)]
            aides = [self.staff_member(pid, "case_management_aide", supervisor_staff_id=cms[0]) for _ in range(2)]
            self.cm_agencies.append((pid, cms, aides))
        # special cases used by faults
        self.basic_provider = self.provider(licenses="245D_BASIC")
        self.basic_staff = self.staff_member(self.basic_provider, "direct_support")
        self.ended_provider = self.provider(end="2025-06-30")
        self.ended_staff = self.staff_member(self.ended_provider, "direct_support")
        cm_pid = self.cm_agencies[0][0]
        self.unqualified_aide = self.staff_member(cm_pid, "case_management_aide", high_school_graduate="N",
                                                  supervisor_staff_id=self.cm_agencies[0][1][0])
        self.uncleared_staff = self.staff_member(self.ihs_providers[0][0], "direct_support", background_study_date="")
        self.tcm_provider = self.provider(licenses="", cm="Y", name="TANF office")
        self.tcm_staff = self.staff_member(self.tcm_provider, "case_manager")
        self.day_provider = self.provider(licenses="245D_BASIC", name="Adult day")
        self.day_staff = self.staff_member(self.day_provider, "direct_support")
        for i in range(cfg["people"]):
            pmi = self.person(program=self.rng.choice(["BI", "CAC", "CADI", "DD"]),
                              birth=f"{self.rng.randrange(1950, 2000)}-{self.rng.randrange(1, 13):02d}-{self.rng.randrange(1, 28):02d}")
            ihs = self.ihs_providers[i % len(self.ihs_providers)]
            cm = self.cm_agencies[i % len(self.cm_agencies)]
            sa = self.new_sa()
            self.sa_line(pmi, ihs[0], "IHS_WT", 9000, sa_number=sa, line_no=1, cm_id=cm[1][0])
            self.sa_line(pmi, ihs[0], "IHS_WT_REMOTE", 2000, sa_number=sa, line_no=2, cm_id=cm[1][0])
            self.sa_line(pmi, cm[0], "CM", 600, sa_number=sa, line_no=3, cm_id=cm[1][0])
            self.sa_line(pmi, cm[0], "CMA", 600, sa_number=sa, line_no=4, cm_id=cm[1][0])
            # revision 2 (GEN-STAFF-OVERLAP): each person's IHS by a worker of their own; case management and
            # aide visits in 45/30-minute slots per agency (slot = the person's index at the agency)
            worker = self.staff_member(ihs[0], "direct_support")
            self.people.append({"pmi": pmi, "ihs": ihs, "cm": cm, "worker": worker,
                                "slot": i // len(self.cm_agencies)})

    # ------------------------------------------------------------------ records
    def contact(self, month: Month, provider, staff, pmi, key, day: dt.date, start: int, length: int, **kw) -> dict:
        proc, mods, _ = SVC[key]
        remote = key.endswith("REMOTE")
        row = {"log_id": self.new_log(), "provider_id": provider, "staff_id": staff, "recipient_id": pmi,
               "procedure_code": proc, "modifiers": mods, "service_date": day.isoformat(),
               "start_time": ampm(start) if self.rng.random() < 0.5 else hhmm(start), "end_time": hhmm(start + length),
               "minutes": str(length), "delivery_mode": "remote" if remote else "in_person",
               "contact_method": "telephone" if remote else "in_person", "two_way": "Y",
               "activity": "check_in" if remote else ("monitoring" if key in ("CM",) else ("mmis_entry" if key == "CMA" else "training")),
               "staff_location": "office" if remote else "home", "ratio": "1:1", "tcm_flag": "",
               "narrative": "Visit went well, goals reviewed" if self.rng.random() < 0.3 else ""}
        if key == "TCM_OR":
            row.update(tcm_flag="Y", narrative="TANF case manager developed case plan", activity="case_plan")
        row.update(kw)
        month.logs.setdefault(provider, []).append(row)
        return row

    def claim(self, month: Month, period, icn, line_no, provider, pmi, key, day: dt.date, units: int, *, adj="0",
              orig="", amount=None, received=None) -> dict:
        proc, mods, rate = SVC[key]
        mods_out = " ".join(reversed(mods.split())) if self.rng.random() < 0.3 else mods  # order does not matter
        row = {"icn": icn, "line_no": str(line_no), "adjustment_ind": adj, "original_icn": orig,
               "received_date": (received or dt.date.fromisoformat(period + "-10")).isoformat(),
               "billing_provider_id": provider, "recipient_id": pmi, "procedure_code": proc, "modifiers": mods_out,
               "service_date": day.isoformat(), "units": str(units),
               "billed_amount": str(amount if amount is not None else rate * units), "place_of_service": "12",
               "diagnosis_code": "F84.0"}
        month.claims.append(row)
        return row

    def truth(self, month: Month, period, row, outcome, rule=""):
        month.truth.append({"period": period, "icn": row["icn"], "line_no": row["line_no"], "expected_outcome": outcome,
                            "expected_rule": rule, "source_file": "", "row_number": ""})


def _bulk_month(w: World, m: Month, period: str, service_month: str) -> None:
    days = month_days(service_month)
    for p in w.people:
        pmi, (ihs, _), (cm, cms, aides) = p["pmi"], p["ihs"], p["cm"]
        ihs_staff = [p["worker"]]
        icn = w.new_icn(period)
        line = 0
        for d in days:
            wd = d.weekday()
            if wd <= 3:  # Monday-Thursday in person, 2 hours
                w.contact(m, ihs, ihs_staff[wd % len(ihs_staff)], pmi, "IHS_WT", d, 9 * 60, 120)
                line += 1
                w.truth(m, period, w.claim(m, period, icn, line, ihs, pmi, "IHS_WT", d, 8), "paid")
            elif wd == 4:  # Friday remote check-in, 30 minutes
                w.contact(m, ihs, ihs_staff[0], pmi, "IHS_WT_REMOTE", d, 19 * 60, 30)
                line += 1
                w.truth(m, period, w.claim(m, period, icn, line, ihs, pmi, "IHS_WT_REMOTE", d, 2), "paid")
        cm_icn = w.new_icn(period)
        slot = p["slot"]  # 12 slots a day over 28 days for each of two case managers (and aides): 672 people
        d_cm = days[(slot // 12) % 28]
        w.contact(m, cm, cms[(slot // 336) % len(cms)], pmi, "CM", d_cm, 8 * 60 + (slot % 12) * 45, 45)
        w.truth(m, period, w.claim(m, period, cm_icn, 1, cm, pmi, "CM", d_cm, 3), "paid")
        d_cma = d_cm
        w.contact(m, cm, aides[(slot // 336) % len(aides)], pmi, "CMA", d_cma, 8 * 60 + (slot % 12) * 30, 30)
        w.truth(m, period, w.claim(m, period, cm_icn, 2, cm, pmi, "CMA", d_cma, 2), "paid")


def _fault(w: World, m: Month, period: str, service_month: str, rule: str) -> None:
    """One faulty claim line on a person of its own; `truth` names the expected outcome and rule."""
    if rule in REV2_LOG_FAULTS:
        return _rev2_log_fault(w, m, period, service_month, rule)
    days = month_days(service_month)
    d = days[9]  # a mid-month weekday-agnostic date
    ihs, ihs_staff = w.ihs_providers[0][0], w.ihs_providers[0][1][0]
    cm, cms, aides = w.cm_agencies[0]
    icn = w.new_icn(period)
    key, provider, staff, start, minutes, units = "IHS_WT", ihs, ihs_staff, 9 * 60, 120, 8
    program, birth, living = "CADI", "1980-05-17", "own_home"
    contact_kw: dict = {}
    sa_kw: dict = {}
    amount = None
    expect = ("partial" if rule in PARTIAL else "denied", rule)
    make_sa = make_contact = True
    span = None
    received = None
    if rule == "GEN-ELIGIBILITY":
        span = (SPAN[0], days[0] - dt.timedelta(days=1))
    elif rule == "GEN-PROVIDER":
        provider, staff = w.ended_provider, w.ended_staff
    elif rule == "GEN-TIMELY":
        d = dt.date.fromisoformat(service_month + "-10").replace(year=int(service_month[:4]) - 1) - dt.timedelta(days=40)
    elif rule == "GEN-DUPLICATE":
        pass  # a second identical line below
    elif rule == "IHS-WAIVER":
        program = "EW"
    elif rule == "IHS-WT-ADULT":
        birth = f"{d.year - 12}-01-01"
    elif rule == "IHS-FT-FOSTER":
        key, living = "IHS_FT", "licensed_foster_family"
    elif rule == "IHS-LICENSE":
        provider, staff = w.basic_provider, w.basic_staff
    elif rule == "IHS-REMOTE-NO-INPERSON":
        key, start, minutes, units = "IHS_WT_REMOTE", 19 * 60, 30, 2
    elif rule == "IHS-DAY-OVERLAP":
        pass  # a daily unit first, then this 15-minute line
    elif rule in ("CM-CONFLICT", "CM-AIDE-ONE-PROVIDER", "TCM-AGE", "TCM-FLAG"):
        pass
    elif rule == "GEN-AUTH-NONE":
        make_sa = False
    elif rule == "GEN-DOC-NONE":
        make_contact = False
    elif rule == "IHS-DAY-MIN":
        key, minutes, units = "IHS_WT_DAY", 300, 1
    elif rule == "GEN-DOC-UNITS":
        units = 10  # 8 documented
    elif rule == "GEN-AUTH-UNITS":
        sa_kw["units"] = 5
    elif rule == "IHS-REMOTE-CAP":
        key, start, minutes, units = "IHS_WT_REMOTE", 19 * 60, 180, 12
        sa_kw.update(start=d, end=d)  # a one-day line: 2,920 x 1/365 = 8 remote units
    elif rule == "GEN-PRICE":
        amount = SVC["IHS_WT"][2] * units + Decimal("5.00")
        expect = ("paid", "")
    elif rule == "CM-AIDE-AS-CM":
        key, provider, staff, start, minutes, units = "CM", cm, aides[0], 13 * 60, 45, 3
    elif rule == "CM-AIDE-TASK":
        key, provider, staff, start, minutes, units = "CMA", cm, aides[0], 13 * 60, 30, 2
        contact_kw["activity"] = "support"  # revision 2: direct service is not aide time (an allow-list)
    elif rule == "CM-AIDE-QUALIFIED":
        key, provider, staff, start, minutes, units = "CMA", cm, w.unqualified_aide, 13 * 60, 30, 2
    elif rule == "GEN-STAFF":
        staff = w.uncleared_staff
    elif rule.startswith("IHS-REMOTE-"):
        key, start, minutes, units = "IHS_WT_REMOTE", 19 * 60, 30, 2
        contact_kw = {"IHS-REMOTE-2WAY": {"contact_method": "voicemail", "two_way": "N"},
                      "IHS-REMOTE-METHOD": {"contact_method": "sensor"},
                      "IHS-REMOTE-SOCIAL": {"activity": "social"},
                      "IHS-REMOTE-SCOPE": {"activity": "training"},
                      "IHS-REMOTE-DOCS": {"minutes": "", "staff_location": "home"},
                      "IHS-REMOTE-RATIO": {"ratio": "1:2"}}[rule]
    elif rule == "IHS-CONCURRENT":
        pass  # an adult day contact covering the whole IHS contact
    elif rule == "IHS-SLEEP":
        start, minutes, units = 23 * 60, 360, 24  # 11 PM to 5 AM, all inside 22:00-06:00
        contact_kw["activity"] = "supervision"
    elif rule == "IHS-NONCOVERED":
        contact_kw["activity"] = "housing_search"
        _rev2_adl_share(w, m, period, d)
    elif rule == "IHS-DAILY-CAP":
        start = 15 * 60  # after the other provider's 00:00-15:00 (an overlap would be GEN-PERSON-OVERLAP)
    if rule in ("CM-CONFLICT", "CM-AIDE-ONE-PROVIDER"):
        key, provider, staff, start, minutes, units = ("CM" if rule == "CM-CONFLICT" else "CMA"), cm, (cms[0] if rule == "CM-CONFLICT" else aides[0]), 13 * 60, 45 if rule == "CM-CONFLICT" else 30, 3 if rule == "CM-CONFLICT" else 2
    if rule in ("TCM-AGE", "TCM-FLAG"):
        key, provider, staff, start, minutes, units = "TCM_OR", w.tcm_provider, w.tcm_staff, 10 * 60, 30, 2
        program = "TANF"
        if rule == "TCM-AGE":
            birth = f"{d.year - 12}-01-01"
        else:
            contact_kw["tcm_flag"] = "N"
    pmi = w.person(program=program, birth=birth, living=living, span=span)
    staff = w.twin(staff)  # a worker of the fault person's own (no overlap with other fault people)
    sa_program = "CADI" if program == "TANF" else program
    if make_sa:
        w.sa_line(pmi, provider, key, sa_kw.pop("units", 3000), program=sa_program, **sa_kw)
    if make_contact:
        w.contact(m, provider, staff, pmi, key, d, start, minutes, **contact_kw)
    line = 1
    if rule == "GEN-DUPLICATE":
        w.truth(m, period, w.claim(m, period, icn, line, provider, pmi, key, d, units), "paid")
        icn = w.new_icn(period)
    if rule == "IHS-DAY-OVERLAP":
        w.sa_line(pmi, provider, "IHS_WT_DAY", 100)
        w.contact(m, provider, staff, pmi, "IHS_WT_DAY", d, 12 * 60, 400)
        w.truth(m, period, w.claim(m, period, icn, line, provider, pmi, "IHS_WT_DAY", d, 1), "paid")
        icn = w.new_icn(period)
    if rule == "CM-CONFLICT":
        w.sa_line(pmi, provider, "IHS_WT", 100)  # the CM agency also holds an IHS line for the person
    if rule == "CM-AIDE-ONE-PROVIDER":
        other = w.cm_agencies[1]
        w.sa_line(pmi, other[0], "CMA", 100)
        w.contact(m, other[0], w.twin(other[2][0]), pmi, "CMA", d, 9 * 60, 30)
        w.truth(m, period, w.claim(m, period, icn, line, other[0], pmi, "CMA", d, 2), "paid")
        icn = w.new_icn(period)
    if rule == "IHS-RESIDENTIAL":
        w.sa_line(pmi, w.ihs_providers[1][0], "CRS", 400)
    if rule == "IHS-REMOTE-NO-INPERSON":
        pass  # the person has only the remote line
    elif key == "IHS_WT_REMOTE" and rule != "IHS-REMOTE-NO-INPERSON":
        w.sa_line(pmi, provider, "IHS_WT", 3000)  # in-person line so remote support may be authorized
    if rule == "IHS-CONCURRENT":
        w.sa_line(pmi, w.day_provider, "ADULT_DAY", 1000)
        w.contact(m, w.day_provider, w.twin(w.day_staff), pmi, "ADULT_DAY", d, 8 * 60, 240)
    if rule == "IHS-DAILY-CAP":
        # another provider already took 60 units that day (earlier in order), this line asks for 8
        other, other_staff = w.ihs_providers[1]
        w.sa_line(pmi, other, "IHS_WT", 3000)
        w.contact(m, other, w.twin(other_staff[0]), pmi, "IHS_WT", d, 0, 900)
        first = w.claim(m, period, w.new_icn(period), 1, other, pmi, "IHS_WT", d, 60,
                        received=dt.date.fromisoformat(period + "-05"))
        w.truth(m, period, first, "paid")
        minutes = 120
    if rule == "CM-AIDE-AS-CM":
        pass
    row = w.claim(m, period, icn, line, provider, pmi, key, d, units, amount=amount, received=received)
    w.truth(m, period, row, *expect)


# ---------------------------------------------------------------------------- revision 2 service-log contracts

def _rev2_case(w: World, m: Month, period: str, provider: str, pmi: str, key: str, d: dt.date, units: int,
               outcome: str, rule: str = "", sa: bool = True, received: dt.date | None = None) -> None:
    if sa:
        w.sa_line(pmi, provider, key, 3000)
    row = w.claim(m, period, w.new_icn(period), 1, provider, pmi, key, d, units, received=received)
    w.truth(m, period, row, outcome, rule)


def _rev2_adl_share(w: World, m: Month, period: str, d: dt.date) -> None:
    """IHS-NONCOVERED (revision 2): ADL is not covered only when it is MORE than half of the day's IHS minutes
    with the provider. 60 ADL of 119 minutes: the ADL line is denied, the training line paid; 60 of 120
    (exactly half): both paid."""
    ihs = w.ihs_providers[0][0]
    for other, adl_outcome in ((59, ("denied", "IHS-NONCOVERED")), (60, ("paid", ""))):
        pmi = w.person()
        staff = w.twin(w.ihs_providers[0][1][0])
        w.contact(m, ihs, staff, pmi, "IHS_WOT", d, 9 * 60, 60, activity="adl_support")
        w.contact(m, ihs, staff, pmi, "IHS_WT", d, 13 * 60, other)
        _rev2_case(w, m, period, ihs, pmi, "IHS_WOT", d, 4, *adl_outcome)
        _rev2_case(w, m, period, ihs, pmi, "IHS_WT", d, units_of(other), "paid")


def _rev2_log_fault(w: World, m: Month, period: str, service_month: str, rule: str) -> None:
    """The revision-2 service-log contracts on people of their own, with the passing side of each boundary."""
    days = month_days(service_month)
    d = days[9]
    (ihs, ihs_staff), (ihs2, ihs2_staff) = w.ihs_providers[0], w.ihs_providers[1]
    cm, cms, aides = w.cm_agencies[0]
    if rule == "CM-STAFF":
        ds = w.staff_member(cm, "direct_support")
        for key, staff, mins, units, outcome in (
                ("CM", ds, 45, 3, ("denied", "CM-STAFF")),             # direct support documents case management
                ("CMA", w.twin(ds), 30, 2, ("denied", "CM-STAFF")),    # ... or aide time
                ("CM", f"X{w.log_seq:07d}", 45, 3, ("denied", "GEN-STAFF")),  # not on the roster: never CM-STAFF
                ("CM", w.twin(cms[0]), 45, 3, ("paid", "")),          # a case manager
                ("CMA", w.twin(aides[0]), 30, 2, ("paid", ""))):      # an aide on an administrative task
            pmi = w.person()
            w.contact(m, cm, staff, pmi, key, d, 13 * 60, mins)
            _rev2_case(w, m, period, cm, pmi, key, d, units, *outcome)
        pmi = w.person()  # CM-AIDE-TASK (revision 2): an aide's direct service is not aide time
        w.contact(m, cm, w.twin(aides[0]), pmi, "CMA", d, 13 * 60, 30, activity="training")
        _rev2_case(w, m, period, cm, pmi, "CMA", d, 2, "denied", "CM-AIDE-TASK")
    elif rule == "TCM-STAFF":
        for staff, outcome in ((w.staff_member(w.tcm_provider, "direct_support"), ("denied", "TCM-STAFF")),
                               (w.twin(w.tcm_staff), ("paid", ""))):
            pmi = w.person(program="TANF")
            w.contact(m, w.tcm_provider, staff, pmi, "TCM_OR", d, 10 * 60, 30)
            w.sa_line(pmi, w.tcm_provider, "TCM_OR", 3000)
            row = w.claim(m, period, w.new_icn(period), 1, w.tcm_provider, pmi, "TCM_OR", d, 2)
            w.truth(m, period, row, *outcome)
    elif rule == "IHS-DELIVERY-CODE":
        remote = dict(delivery_mode="remote", contact_method="telephone", staff_location="office", activity="check_in")
        for key, kw, outcome in (
                ("IHS_WT", remote, ("denied", "IHS-DELIVERY-CODE")),   # a remote call on the in-person code
                ("IHS_WT_REMOTE", dict(delivery_mode="in_person", contact_method="in_person", staff_location="home"),
                 ("denied", "IHS-DELIVERY-CODE")),                     # an in-person visit on the remote code
                # Clarification 15: the remote contracts apply to a remote contact whatever its code
                ("IHS_WT", dict(remote, contact_method="voicemail", two_way="N"), ("denied", "IHS-REMOTE-2WAY")),
                ("IHS_WT_REMOTE", {}, ("paid", ""))):                  # a remote call on the remote code
            pmi = w.person()
            w.contact(m, ihs, w.twin(ihs_staff[0]), pmi, key, d, 19 * 60, 30, **kw)
            if key == "IHS_WT_REMOTE":
                w.sa_line(pmi, ihs, "IHS_WT", 3000)
            _rev2_case(w, m, period, ihs, pmi, key, d, 2, *outcome)
    elif rule == "IHS-RATIO-CODE":
        for key, outcome in (("IHS_WT", ("denied", "IHS-RATIO-CODE")), ("IHS_WT_1TO2", ("paid", ""))):
            pmi = w.person()
            w.contact(m, ihs, w.twin(ihs_staff[0]), pmi, key, d, 9 * 60, 120, ratio="1:2")
            _rev2_case(w, m, period, ihs, pmi, key, d, 8, *outcome)
    elif rule == "GEN-STAFF-OVERLAP":
        # 1:1 with two people at once: the later in order loses the shared hour
        staff = w.twin(ihs_staff[0])
        for start, outcome in ((9 * 60, ("paid", "")), (10 * 60, ("partial", "GEN-STAFF-OVERLAP"))):
            pmi = w.person()
            w.contact(m, ihs, staff, pmi, "IHS_WT", d, start, 120)
            _rev2_case(w, m, period, ihs, pmi, "IHS_WT", d, 8, *outcome)
        # 1:2 with two people: both paid; a third person at 1:2 at the same time: denied
        staff = w.twin(ihs_staff[0])
        for outcome in (("paid", ""), ("paid", ""), ("denied", "GEN-STAFF-OVERLAP")):
            pmi = w.person()
            w.contact(m, ihs, staff, pmi, "IHS_WT_1TO2", d, 13 * 60, 120, ratio="1:2")
            _rev2_case(w, m, period, ihs, pmi, "IHS_WT_1TO2", d, 8, *outcome)
        # across midnight: 23:00-01:00, then another person from 00:00 the next day loses the hour after midnight
        staff = w.twin(ihs_staff[0])
        for day, start, outcome in ((d, 23 * 60, ("paid", "")), (days[10], 0, ("partial", "GEN-STAFF-OVERLAP"))):
            pmi = w.person()
            w.contact(m, ihs, staff, pmi, "IHS_WT", day, start, 120)
            _rev2_case(w, m, period, ihs, pmi, "IHS_WT", day, 8, *outcome)
        # a remote call during an in-person visit counts too
        staff = w.twin(ihs_staff[0])
        pmi = w.person()
        w.contact(m, ihs, staff, pmi, "IHS_WT", d, 9 * 60, 120)
        _rev2_case(w, m, period, ihs, pmi, "IHS_WT", d, 8, "paid")
        pmi = w.person()
        w.contact(m, ihs, staff, pmi, "IHS_WT_REMOTE", d, 10 * 60, 30)
        w.sa_line(pmi, ihs, "IHS_WT", 3000)
        _rev2_case(w, m, period, ihs, pmi, "IHS_WT_REMOTE", d, 2, "denied", "GEN-STAFF-OVERLAP")
    elif rule == "GEN-PERSON-OVERLAP":
        # two providers' staff with one person at once: the later loses the shared hour; back to back: both paid
        for second, outcome in ((10 * 60, ("partial", "GEN-PERSON-OVERLAP")), (11 * 60, ("paid", ""))):
            pmi = w.person()
            w.contact(m, ihs, w.twin(ihs_staff[0]), pmi, "IHS_WT", d, 9 * 60, 120)
            w.contact(m, ihs2, w.twin(ihs2_staff[0]), pmi, "IHS_WT", d, second, 120)
            _rev2_case(w, m, period, ihs, pmi, "IHS_WT", d, 8, "paid", received=dt.date.fromisoformat(period + "-05"))
            _rev2_case(w, m, period, ihs2, pmi, "IHS_WT", d, 8, *outcome)


def _fe_faults(w: World, m: Month, period: str) -> list[tuple[str, str]]:
    """Claim lines that fail a front-end edit (row text, rule). Returned as raw lines."""
    base = m.claims[0]
    out = []
    def line(**kw):
        r = dict(base, icn=w.new_icn(period), line_no="1", adjustment_ind="0", original_icn="")
        r.update(kw)
        return r
    out.append(("|".join(line(service_date="2026-02-30").get(c, "") for c in CLAIM_COLS), "FE-PARSE"))
    out.append(("|".join(line(recipient_id="").get(c, "") for c in CLAIM_COLS), "FE-REQUIRED"))
    out.append(("|".join(line(recipient_id="1234567").get(c, "") for c in CLAIM_COLS), "FE-FORMAT"))
    out.append(("|".join(line(procedure_code="H9999").get(c, "") for c in CLAIM_COLS), "FE-CODE"))
    out.append(("|".join(line(units="0").get(c, "") for c in CLAIM_COLS), "FE-VALUE"))
    out.append(("|".join(line(adjustment_ind="1", original_icn="99999999999999").get(c, "") for c in CLAIM_COLS), "FE-ADJUSTMENT"))
    return out


def _adjustments(w: World, m: Month, period: str, prev: Month, prev_period: str) -> None:
    """Voids, replacements and cross-month duplicates of last month's clean CM claims."""
    cm_claims: dict[str, list[dict]] = {}
    for r in prev.claims:
        if r["procedure_code"] == "T1016" and r["adjustment_ind"] == "0":
            cm_claims.setdefault(r["icn"], []).append(r)
    clean = [icn for icn, lines in cm_claims.items() if len(lines) == 2
             and all(t["expected_outcome"] == "paid" for t in prev.truth if t["icn"] == icn)]
    picks = clean[:3 * w.cfg["faults"]]
    for j, icn in enumerate(picks):
        lines = cm_claims[icn]
        new = w.new_icn(period)
        kind = j % 3
        for r in lines:
            row = dict(r, icn=new, received_date=f"{period}-12")
            if kind == 0:  # void
                row.update(adjustment_ind="1", original_icn=icn)
                m.claims.append(row)
                w.truth(m, period, row, "voided")
            elif kind == 1:  # replacement with one unit less: judged afresh, paid
                row.update(adjustment_ind="4", original_icn=icn, units=str(int(r["units"]) - 1))
                _, _, rate = SVC["CM" if "TF" not in r["modifiers"] else "CMA"]
                row["billed_amount"] = str(rate * (int(r["units"]) - 1))
                m.claims.append(row)
                w.truth(m, period, row, "paid")
            else:  # the same service billed again under a new ICN: a cross-month duplicate
                row.update(adjustment_ind="0", original_icn="")
                m.claims.append(row)
                w.truth(m, period, row, "denied", "GEN-DUPLICATE")


# ---------------------------------------------------------------------------- X12 835 inputs (revision 2)
# An atypical IHS agency enrolled with a UMPI (its 835 names the payee by the tax id on providers.csv, the
# UMPI in REF*PQ) serving people of its own, whose claims carry the agency's own claim number
# (patient_control_number, echoed as CLP01). Added after everything else, so the rest of the world keeps
# its ids.

def _x12_world(w: World) -> None:
    n = len(w.providers)
    pid = f"A{900_000_000 + n:09d}"
    w.providers.append({"provider_id": pid, "name": f"Atypical IHS agency {n + 1}", "enrollment_start": "2020-01-01",
                        "enrollment_end": "", "licenses": "245D_BASIC 245D_INTENSIVE", "case_management_agency": "N",
                        "tin": f"{410_000_000 + n:09d}"})
    w.umpi_people = []
    for _ in range(2 * w.cfg["faults"]):  # each person's IHS by a worker of their own (one worker, one person at a time)
        pmi = w.person(program="CADI")
        w.sa_line(pmi, pid, "IHS_WT", 3000)
        w.umpi_people.append((pmi, pid, w.staff_member(pid, "direct_support")))


def _x12_month(w: World, m: Month, period: str, service_month: str) -> None:
    for k, (pmi, pid, staff) in enumerate(w.umpi_people):
        icn = w.new_icn(period)
        line = 0
        for d in month_days(service_month):
            if d.weekday() in (1, 3):  # Tuesday and Thursday, 2 hours in person
                w.contact(m, pid, staff, pmi, "IHS_WT", d, 10 * 60, 120)
                line += 1
                row = w.claim(m, period, icn, line, pid, pmi, "IHS_WT", d, 8)
                row["patient_control_number"] = f"INV-{period.replace('-', '')}-{k + 1:04d}"
                w.truth(m, period, row, "paid")


def _write_pipe(path: Path, cols: list[str], rows: list[dict], total_col: str, extra_lines: list[str] = ()) -> None:
    buf = io.StringIO()
    buf.write("|".join(cols) + "\n")
    total = Decimal("0")
    n = 0
    for r in rows:
        buf.write("|".join(r.get(c, "") for c in cols) + "\n")
        total += Decimal(r[total_col])
        n += 1
    i = cols.index(total_col)
    for ln in extra_lines:
        buf.write(ln + "\n")
        n += 1
        try:
            total += Decimal(ln.split("|")[i])
        except Exception:  # noqa: BLE001 - unreadable amounts do not count (as the reader does)
            pass
    buf.write(f"TRL|{n}|{total}\n")
    path.write_text(buf.getvalue())


def _write_csv(path: Path, cols: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        wr.writeheader()
        wr.writerows(rows)


def generate(out: Path, months: int = 2, seed: int = 7, scale: str = "demo", start: str = "2026-01") -> dict:
    """Write `months` inboxes under `out` and `out/ground_truth.csv`. Returns a small summary."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    w = World(seed, scale, start)
    truth: list[dict] = []
    prev: Month | None = None
    prev_period = None
    sent: set[str] = set()  # reference snapshot contents already written
    for k in range(months):
        period = month_add(start, k)
        service_month = month_add(period, -1)
        m = Month()
        _bulk_month(w, m, period, service_month)
        for _ in range(w.cfg["faults"]):
            for rule in CLAIM_FAULTS:
                _fault(w, m, period, service_month, rule)
        if prev is not None:
            _adjustments(w, m, period, prev, prev_period)
        _x12_month(w, m, period, service_month)
        root = out / period
        for sub in ("claims", "authorizations", "service_logs", "reference"):
            (root / sub).mkdir(parents=True)
        fe_lines = _fe_faults(w, m, period)
        claims_file = root / "claims" / f"mmis_claims_{period}.txt"
        _write_pipe(claims_file, CLAIM_COLS, m.claims, "billed_amount", [ln for ln, _ in fe_lines])
        n_claims = len(m.claims)
        for j, (_, rule) in enumerate(fe_lines):
            truth.append({"period": period, "icn": "", "line_no": "", "expected_outcome": "rejected", "expected_rule": rule,
                          "source_file": f"{period}/claims/{claims_file.name}", "row_number": str(n_claims + 2 + j)})
        _write_pipe(root / "authorizations" / f"mmis_sa_{period}.txt", SA_COLS, w.sa, "authorized_units")
        for pid, rows in sorted(m.logs.items()):
            _write_csv(root / "service_logs" / f"evv_{pid}_{period}.csv", LOG_COLS, rows)
        # dirty service-log records and a duplicated file
        bad = root / "service_logs" / f"evv_manual_{period}.csv"
        sample = dict(next(iter(m.logs.values()))[0])
        dirty = [dict(sample, log_id=w.new_log(), start_time="25:61"), dict(sample, log_id=w.new_log(), minutes="999")]
        _write_csv(bad, LOG_COLS, dirty)
        truth += [{"period": period, "icn": "", "line_no": "", "expected_outcome": "rejected", "expected_rule": r,
                   "source_file": f"{period}/service_logs/{bad.name}", "row_number": str(i + 2)}
                  for i, r in enumerate(["FE-PARSE", "FE-VALUE"])]
        first_log = sorted((root / "service_logs").glob("evv_*.csv"))[0]
        dup = root / "service_logs" / f"zz_resent_{first_log.name}"
        shutil.copyfile(first_log, dup)
        truth.append({"period": period, "icn": "", "line_no": "", "expected_outcome": "rejected",
                      "expected_rule": "FE-DUPLICATE-FILE", "source_file": f"{period}/service_logs/{dup.name}", "row_number": "0"})
        for name, cols, rows in (("recipients", REC_COLS, w.recipients), ("providers", PROV_COLS, w.providers),
                                 ("staff", STAFF_COLS, w.staff)):
            ref = root / "reference" / f"{name}.csv"
            _write_csv(ref, cols, rows)
            digest = hashlib.sha256(ref.read_bytes()).hexdigest()
            if digest in sent:  # an unchanged snapshot resent: skipped as already loaded, and reported
                truth.append({"period": period, "icn": "", "line_no": "", "expected_outcome": "rejected",
                              "expected_rule": "FE-DUPLICATE-FILE", "source_file": f"{period}/reference/{ref.name}",
                              "row_number": "0"})
            sent.add(digest)
        truth += m.truth
        prev, prev_period = m, period
    _write_csv(out / "ground_truth.csv", ["period", "icn", "line_no", "expected_outcome", "expected_rule", "source_file",
                                          "row_number"], truth)
    return {"months": months, "periods": [month_add(start, k) for k in range(months)], "claim_lines": len(truth)}
