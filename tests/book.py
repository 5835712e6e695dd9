"""A hand-written month: every provider, staff member, person, agreement line, contact and claim line
is added by a test, one call per row, in the extracts.md formats (no generator randomness).

Claims are received 2026-01-10 for services in December 2025 unless a case says otherwise; each case
names its expected outcome, primary rule and, where it matters, the exact ledger rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from claimrecon.generator import (CLAIM_COLS, LOG_COLS, PROV_COLS, REC_COLS, SA_COLS, STAFF_COLS, SVC, _write_csv,
                                  _write_pipe)
from contracts.front_end import npi_check_digit

SERVICES = {**SVC, "IHS_WOT_1TO2": ("S5135", "UC UN", Decimal("5.00")), "IHS_WOT_REMOTE": ("S5135", "UC U4", Decimal("6.00")),
            "NIGHT_SUP": ("S5135", "UA", Decimal("6.00")), "CUST_LIVING": ("T2031", "UC", Decimal("200.00")),
            "FRS": ("S5140", "UC", Decimal("230.00"))}
DAY = "2025-12-10"
RECEIVED = "2026-01-10"


def minutes_of(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def hhmm(minute: int) -> str:
    minute %= 1440
    return f"{minute // 60:02d}:{minute % 60:02d}"


class Book:
    def __init__(self, period: str = "2026-01", base: int = 0, clone_staff: bool = False):
        self.period = period
        # revision 2 (GEN-STAFF-OVERLAP): one staff member cannot serve two people 1:1 at once. With
        # clone_staff, every contact by a roster member is documented by a twin of that member (same employer,
        # role, dates and qualifications), so cases written for other rules cannot overlap each other.
        self.clone_staff = clone_staff
        self.providers: list[dict] = []
        self.staff: list[dict] = []
        self.recipients: list[dict] = []
        self.sa: list[dict] = []
        self.logs: list[dict] = []
        self.claims: list[dict] = []
        self.cases: dict[str, dict] = {}
        self._n = base
        self._icn = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    # ------------------------------------------------------------------ the world
    def provider(self, licenses: str = "245D_BASIC 245D_INTENSIVE", cm: str = "N", end: str = "") -> str:
        b = f"{133000000 + self._next():09d}"
        pid = b + str(npi_check_digit(b))
        self.providers.append({"provider_id": pid, "name": f"Provider {len(self.providers) + 1}",
                               "enrollment_start": "2020-01-01", "enrollment_end": end, "licenses": licenses,
                               "case_management_agency": cm})
        return pid

    def staff_member(self, provider: str, role: str = "direct_support", **kw) -> str:
        sid = f"S{500000 + self._next():06d}"
        row = {"staff_id": sid, "provider_id": provider, "role": role, "hire_date": "2021-01-01", "end_date": "",
               "background_study_date": "2020-12-15", "high_school_graduate": "Y", "qualifying_experience_months": "24",
               "postsecondary_years": "0", "supervisor_staff_id": "", "training_hours_12m": "16"}
        row.update({k: str(v) for k, v in kw.items()})
        self.staff.append(row)
        return sid

    def twin(self, sid: str) -> str:
        """A new staff member with every attribute of `sid` (the same facts for every rule but the overlaps)."""
        row = next(r for r in self.staff if r["staff_id"] == sid)
        new = f"S{500000 + self._next():06d}"
        self.staff.append(dict(row, staff_id=new))
        return new

    def person(self, program: str = "CADI", birth: str = "1980-05-17", living: str = "own_home",
               sleep: tuple[str, str] = ("", ""), span: tuple[str, str] = ("2024-01-01", "2028-12-31")) -> str:
        pmi = f"{30000000 + self._next():08d}"
        self.recipients.append({"recipient_id": pmi, "birth_date": birth, "waiver_program": program,
                                "span_start": span[0], "span_end": span[1], "living_arrangement": living,
                                "sleep_start": sleep[0], "sleep_end": sleep[1]})
        return pmi

    def sa_line(self, pmi: str, provider: str, key: str, units: int = 3000, start: str = "2024-01-01",
                end: str = "2028-12-31", exception: int = 0, program: str = "CADI") -> dict:
        proc, mods, rate = SERVICES[key]
        row = {"sa_number": f"{7000000000 + self._next():010d}", "line_no": "1", "sa_status": "A", "line_status": "A",
               "recipient_id": pmi, "provider_id": provider, "procedure_code": proc, "modifiers": mods,
               "start_date": start, "end_date": end, "authorized_units": str(units), "unit_rate": str(rate),
               "waiver_program": program, "remote_exception_units": str(exception), "case_manager_id": ""}
        self.sa.append(row)
        return row

    def contact(self, pmi: str, provider: str, staff: str, key: str, day: str = DAY, start: str = "09:00",
                minutes: int = 120, **kw) -> dict:
        proc, mods, _ = SERVICES[key]
        if self.clone_staff and not kw.pop("keep_staff", False) and any(r["staff_id"] == staff for r in self.staff):
            staff = self.twin(staff)
        remote = key.endswith("REMOTE")
        s = minutes_of(start)
        activity = {"CM": "monitoring", "CMA": "mmis_entry", "TCM_OR": "case_plan"}.get(
            key, "check_in" if remote else "training")
        row = {"log_id": f"L{self._next():09d}", "provider_id": provider, "staff_id": staff, "recipient_id": pmi,
               "procedure_code": proc, "modifiers": mods, "service_date": day, "start_time": start,
               "end_time": hhmm(s + minutes), "minutes": str(minutes),
               "delivery_mode": "remote" if remote else "in_person",
               "contact_method": "telephone" if remote else "in_person", "two_way": "Y", "activity": activity,
               "staff_location": "office" if remote else "home", "ratio": "1:1",
               "tcm_flag": "Y" if key == "TCM_OR" else "",
               "narrative": "Worked on the case plan with the parent" if key == "TCM_OR" else ""}
        if "minutes_field" in kw:  # the documented length, when it should differ from the times (or be empty)
            row["minutes"] = str(kw.pop("minutes_field"))
        row.update({k: str(v) for k, v in kw.items()})
        self.logs.append(row)
        return row

    def claim(self, case: str | None, pmi: str, provider: str, key: str, day: str = DAY, units: int = 8, *,
              expect: tuple[str, str | None] = ("paid", None), ledger: list[tuple] | None = None,
              received: str = RECEIVED, amount: Decimal | None = None, icn: str | None = None,
              line_no: int = 1) -> dict:
        proc, mods, rate = SERVICES[key]
        if icn is None:
            self._icn += 1
            icn = f"{received.replace('-', '')}{self._icn:08d}"
        row = {"icn": icn, "line_no": str(line_no), "adjustment_ind": "0", "original_icn": "",
               "received_date": received, "billing_provider_id": provider, "recipient_id": pmi,
               "procedure_code": proc, "modifiers": mods, "service_date": day, "units": str(units),
               "billed_amount": str(amount if amount is not None else rate * units),
               "place_of_service": "12", "diagnosis_code": "F84.0"}
        self.claims.append(row)
        if case is not None:
            assert case not in self.cases, case
            self.cases[case] = {"icn": icn, "line_no": line_no, "outcome": expect[0], "rule": expect[1],
                                "ledger": ledger, "recipient_id": pmi}
        return row

    def write(self, root: Path) -> None:
        base = root / self.period
        for sub in ("claims", "authorizations", "service_logs", "reference"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        _write_pipe(base / "claims" / f"mmis_claims_{self.period}.txt", CLAIM_COLS, self.claims, "billed_amount", [])
        _write_pipe(base / "authorizations" / f"mmis_sa_{self.period}.txt", SA_COLS, self.sa, "authorized_units")
        _write_csv(base / "service_logs" / f"evv_{self.period}.csv", LOG_COLS, self.logs)
        _write_csv(base / "reference" / "recipients.csv", REC_COLS, self.recipients)
        _write_csv(base / "reference" / "providers.csv", PROV_COLS, self.providers)
        _write_csv(base / "reference" / "staff.csv", STAFF_COLS, self.staff)


def days(first: str, last: str) -> list[str]:
    d, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    out = []
    while d <= end:
        out.append(d.isoformat())
        d += dt.timedelta(days=1)
    return out
