"""The policy rule packs on hand-made rows: every service-log contract, claim edit and finding fails once
and passes once (a twin that differs only in the fact the rule reads), with the edges the seed texts
imply: a contact crossing midnight, exactly 2,920 remote units in an agreement year, an aide contact
documented under the aide code but billed as case management, exactly 360 minutes for a daily unit,
the 14th and 18th birthdays. Lines failing several rules record all of them; a partly paid line
attributes each denied unit to the rule that took it.

One month (2026-01, services in December 2025), one real run through Dagster into a DuckDB file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest

from claimrecon.runner import run_period
from contracts import rules as catalog
from contracts.rules import CLAIM_EDITS, FINDINGS, LOG_CONTRACTS
from tests.book import DAY, Book, days
from tests.conftest import ro


def build() -> Book:  # noqa: PLR0915 - one row per call, read top to bottom
    b = Book(clone_staff=True)  # every contact by its own twin of the staff member: no GEN-STAFF-OVERLAP here
    ihs, ihs2 = b.provider(), b.provider()
    ds, ds2 = b.staff_member(ihs), b.staff_member(ihs2)
    basic = b.provider(licenses="245D_BASIC")
    ds_basic = b.staff_member(basic)
    nolic = b.provider(licenses="")
    ds_nolic = b.staff_member(nolic)
    day_prov = b.provider(licenses="245D_BASIC")
    day_staff = b.staff_member(day_prov)
    cma1, cma2 = b.provider(licenses="", cm="Y"), b.provider(licenses="", cm="Y")
    cm1, cm2 = b.staff_member(cma1, "case_manager"), b.staff_member(cma2, "case_manager")
    aide1 = b.staff_member(cma1, "case_management_aide", supervisor_staff_id=cm1)
    aide2 = b.staff_member(cma2, "case_management_aide", supervisor_staff_id=cm2)
    tcm = b.provider(licenses="", cm="Y")
    tcm_cm = b.staff_member(tcm, "case_manager")

    def ihs_case(case, expect=("paid", None), *, key="IHS_WT", prov=ihs, staff=ds, units=8, start="09:00", minutes=120,
                 person=None, sa=True, inperson_sa=None, claim=True, ledger=None, day=DAY, **contact):
        pmi = person or b.person()
        if sa:
            b.sa_line(pmi, prov, key)
        if inperson_sa or (inperson_sa is None and key.endswith("REMOTE")):
            b.sa_line(pmi, prov, "IHS_WT")
        if minutes:
            b.contact(pmi, prov, staff, key, day, start, minutes, **contact)
        if claim:
            b.claim(case, pmi, prov, key, day, units, expect=expect, ledger=ledger)
        return pmi

    def cm_case(case, expect=("paid", None), *, bill="CMA", doc="CMA", prov=cma1, staff=aide1, units=2, minutes=30,
                **contact):
        pmi = b.person()
        b.sa_line(pmi, prov, "CM")
        b.sa_line(pmi, prov, "CMA")
        b.contact(pmi, prov, staff, doc, DAY, "14:00", minutes, **contact)
        b.claim(case, pmi, prov, bill, DAY, units, expect=expect)
        return pmi

    # ---------------------------------------------------------------- case management aide (000)
    cm_case("CM-AIDE-AS-CM documented as CM", ("denied", "CM-AIDE-AS-CM"), bill="CM", doc="CM", units=3, minutes=45,
            activity="monitoring")
    cm_case("CM-AIDE-AS-CM pass: a case manager documents CM", bill="CM", doc="CM", staff=cm1, units=3, minutes=45,
            activity="monitoring")
    cm_case("CM-AIDE-AS-CM aide code billed as CM", ("denied", "CM-AIDE-AS-CM"), bill="CM", doc="CMA")
    cm_case("CM-AIDE-AS-CM pass: aide code billed as aide", bill="CMA", doc="CMA")
    cm_case("CM-AIDE-TASK", ("denied", "CM-AIDE-TASK"), activity="assessment")
    cm_case("CM-AIDE-TASK reassessment", ("denied", "CM-AIDE-TASK"), activity="support_plan")
    cm_case("CM-AIDE-TASK pass", activity="mmis_entry")
    for label, kw in {"no diploma": {"high_school_graduate": "N"},
                      "6 months and no college": {"qualifying_experience_months": 6, "postsecondary_years": 0},
                      "supervised by a direct support worker": {"supervisor_staff_id": ds}}.items():
        cm_case(f"CM-AIDE-QUALIFIED {label}", ("denied", "CM-AIDE-QUALIFIED"),
                staff=b.staff_member(cma1, "case_management_aide", **{"supervisor_staff_id": cm1, **kw}))
    notcm = b.provider(licenses="245D_BASIC", cm="N")
    # revision 2: CM by a case manager only; aide time not by direct-support staff
    ds_cm = b.staff_member(cma1, "direct_support")
    cm_case("CM-STAFF direct support documents CM", ("denied", "CM-STAFF"), bill="CM", doc="CM", staff=ds_cm, units=3,
            minutes=45, activity="monitoring")
    cm_case("CM-STAFF aide code by direct support", ("denied", "CM-STAFF"), staff=ds_cm)
    cm_case("CM-STAFF pass: a case manager documents CM", bill="CM", doc="CM", staff=cm1, units=3, minutes=45,
            activity="monitoring")
    cm_case("CM-STAFF pass: aide code by an aide", staff=aide1)
    cm_case("CM-AIDE-TASK support is direct service", ("denied", "CM-AIDE-TASK"), activity="support")
    cm_case("CM-AIDE-TASK pass: a referral", activity="referral")
    cm_case("CM-AIDE-QUALIFIED employer not a CM agency", ("denied", "CM-AIDE-QUALIFIED"), prov=notcm,
            staff=b.staff_member(notcm, "case_management_aide", supervisor_staff_id=cm1))
    cm_case("CM-AIDE-QUALIFIED pass: 6 months and a year of college", staff=b.staff_member(
        cma1, "case_management_aide", supervisor_staff_id=cm1, qualifying_experience_months=6, postsecondary_years=1))
    cm_case("CM-AIDE-QUALIFIED pass: exactly 12 months", staff=b.staff_member(
        cma1, "case_management_aide", supervisor_staff_id=cm1, qualifying_experience_months=12))
    # CM-CONFLICT: the CM agency also holds another waiver service for the person
    p = cm_case("CM-CONFLICT", ("denied", "CM-CONFLICT"), bill="CM", doc="CM", staff=cm1, units=3, minutes=45)
    b.sa_line(p, cma1, "IHS_WT")
    cm_case("CM-CONFLICT pass: the agency holds only CM and aide lines", bill="CM", doc="CM", staff=cm1, units=3,
            minutes=45)
    # CM-AIDE-ONE-PROVIDER: a second agency's aide the same day, judged later
    p = b.person()
    b.sa_line(p, cma2, "CMA")
    b.sa_line(p, cma1, "CMA")
    b.contact(p, cma2, aide2, "CMA", DAY, "10:00", 30)
    b.contact(p, cma1, aide1, "CMA", DAY, "15:00", 30)
    b.claim("CM-AIDE-ONE-PROVIDER pass: the first provider", p, cma2, "CMA", DAY, 2, received="2026-01-05")
    b.claim("CM-AIDE-ONE-PROVIDER", p, cma1, "CMA", DAY, 2, expect=("denied", "CM-AIDE-ONE-PROVIDER"))
    b.contact(p, cma1, aide1, "CMA", "2025-12-11", "15:00", 30)
    b.claim("CM-AIDE-ONE-PROVIDER pass: another day", p, cma1, "CMA", "2025-12-11", 2)

    # ---------------------------------------------------------------- staff (003, 004)
    ihs_case("GEN-STAFF not on the roster", ("denied", "GEN-STAFF"), staff="S999999")
    ihs_case("GEN-STAFF hired after the date", ("denied", "GEN-STAFF"), staff=b.staff_member(ihs, hire_date="2025-12-11"))
    ihs_case("GEN-STAFF employed by another provider", ("denied", "GEN-STAFF"), staff=ds2)
    ihs_case("GEN-STAFF study cleared the day after", ("denied", "GEN-STAFF"),
             staff=b.staff_member(ihs, background_study_date="2025-12-11"))
    ihs_case("GEN-STAFF pass: study cleared that day, last day employed",
             staff=b.staff_member(ihs, background_study_date=DAY, end_date=DAY))

    # ---------------------------------------------------------------- remote support (003)
    remote = dict(key="IHS_WT_REMOTE", start="19:00", minutes=30, units=2)
    ihs_case("IHS-REMOTE-2WAY no two-way", ("denied", "IHS-REMOTE-2WAY"), two_way="N", **remote)
    ihs_case("IHS-REMOTE-2WAY voicemail", ("denied", "IHS-REMOTE-2WAY"), contact_method="voicemail", **remote)
    ihs_case("IHS-REMOTE-2WAY pass: telephone, two-way", **remote)
    ihs_case("IHS-REMOTE-METHOD sensor", ("denied", "IHS-REMOTE-METHOD"), contact_method="sensor", **remote)
    ihs_case("IHS-REMOTE-METHOD pass: video", contact_method="video", **remote)
    ihs_case("IHS-REMOTE-METHOD pass: secure message", contact_method="secure_message", **remote)
    ihs_case("IHS-REMOTE-SOCIAL", ("denied", "IHS-REMOTE-SOCIAL"), activity="social", **remote)
    ihs_case("IHS-REMOTE-SOCIAL pass: a check-in", activity="check_in", **remote)
    ihs_case("IHS-REMOTE-SCOPE", ("denied", "IHS-REMOTE-SCOPE"), activity="training", **remote)
    ihs_case("IHS-REMOTE-SCOPE pass: consultation", activity="consultation", **remote)
    ihs_case("IHS-REMOTE-DOCS no length", ("denied", "IHS-REMOTE-DOCS"), minutes_field="", **remote)
    ihs_case("IHS-REMOTE-DOCS staff at home", ("denied", "IHS-REMOTE-DOCS"), staff_location="home", **remote)
    ihs_case("IHS-REMOTE-DOCS pass: staff in the community", staff_location="community", **remote)
    ihs_case("IHS-REMOTE-RATIO", ("denied", "IHS-REMOTE-RATIO"), ratio="1:2", **remote)
    ihs_case("IHS-REMOTE-RATIO pass: 1:1", ratio="1:1", **remote)
    ihs_case("IHS-REMOTE-NO-INPERSON", ("denied", "IHS-REMOTE-NO-INPERSON"), inperson_sa=False, **remote)
    ihs_case("IHS-REMOTE-NO-INPERSON pass: an in-person line too", inperson_sa=True, **remote)

    # ---------------------------------------------------------------- intervals (003)
    # adult day 10:00-12:00 overlaps IHS 09:00-11:00 by 60 minutes: 4 of 8 units go
    p = ihs_case("IHS-CONCURRENT partial overlap", ("partial", "IHS-CONCURRENT"), ledger=[("IHS-CONCURRENT", 4, True)])
    b.contact(p, day_prov, day_staff, "ADULT_DAY", DAY, "10:00", 120)
    p = ihs_case("IHS-CONCURRENT pass: back to back")
    b.contact(p, day_prov, day_staff, "ADULT_DAY", DAY, "11:00", 120)
    # IHS 23:00-01:00 and night supervision from midnight on the next day: the hour after midnight goes
    p = ihs_case("IHS-CONCURRENT across midnight", ("partial", "IHS-CONCURRENT"), start="23:00",
                 ledger=[("IHS-CONCURRENT", 4, True)])
    b.contact(p, ihs2, ds2, "NIGHT_SUP", "2025-12-11", "00:00", 120)
    ihs_case("midnight: 22:00-01:00 training is 12 units", units=12, start="22:00", minutes=180)
    # default sleeping hours 22:00-06:00: supervision 20:00-02:00 has 240 sleeping minutes, 2 billable hours
    ihs_case("IHS-SLEEP across midnight", ("partial", "IHS-SLEEP"), units=24, start="20:00", minutes=360,
             activity="supervision", ledger=[("IHS-SLEEP", 16, True)])
    ihs_case("IHS-SLEEP person's own hours", ("partial", "IHS-SLEEP"), units=24, start="20:00", minutes=360,
             activity="supervision", person=b.person(sleep=("00:00", "08:00")), ledger=[("IHS-SLEEP", 8, True)])
    ihs_case("IHS-SLEEP pass: supervision before bedtime", units=24, start="16:00", minutes=360, activity="supervision")
    ihs_case("IHS-SLEEP all night", ("denied", "IHS-SLEEP"), units=16, start="23:00", minutes=240, activity="supervision")
    ihs_case("IHS-NONCOVERED housing search", ("denied", "IHS-NONCOVERED"), activity="housing_search")
    ihs_case("IHS-NONCOVERED ADL support", ("denied", "IHS-NONCOVERED"), activity="adl_support")
    ihs_case("IHS-NONCOVERED pass: training", activity="training")
    p = ihs_case("IHS-NONCOVERED pass: ADL exactly half of the day's IHS", units=4, minutes=60, activity="adl_support")
    b.contact(p, ihs, ds, "IHS_WT", DAY, "13:00", 60)

    # ---------------------------------------------------------------- revision 2: the code documented (003)
    remote_on_inperson = dict(delivery_mode="remote", contact_method="telephone", staff_location="office",
                              activity="check_in", start="19:00", minutes=30, units=2)
    ihs_case("IHS-DELIVERY-CODE remote on the in-person code", ("denied", "IHS-DELIVERY-CODE"), **remote_on_inperson)
    ihs_case("IHS-DELIVERY-CODE pass: in person on the in-person code")
    ihs_case("IHS-RATIO-CODE 1:2 on the 1:1 code", ("denied", "IHS-RATIO-CODE"), ratio="1:2")
    ihs_case("IHS-RATIO-CODE pass: 1:2 on the 1:2 code", key="IHS_WT_1TO2", ratio="1:2")
    # revision 2, Clarification 16: one staff member 1:1 with two people at once; two providers for one person
    p1, p2 = b.person(), b.person()
    shared = b.staff_member(ihs)
    for p, start, label, exp, led in ((p1, "09:00", "GEN-STAFF-OVERLAP pass: first in order keeps its minutes", ("paid", None), None),
                                      (p2, "10:00", "GEN-STAFF-OVERLAP", ("partial", "GEN-STAFF-OVERLAP"),
                                       [("GEN-STAFF-OVERLAP", 4, True)])):
        b.sa_line(p, ihs, "IHS_WT")
        b.contact(p, ihs, shared, "IHS_WT", DAY, start, 120, keep_staff=True)
        b.claim(label, p, ihs, "IHS_WT", DAY, 8, expect=exp, ledger=led)
    p = b.person()
    b.sa_line(p, ihs, "IHS_WT")
    b.sa_line(p, ihs2, "IHS_WT")
    b.contact(p, ihs, ds, "IHS_WT", DAY, "09:00", 120)
    b.contact(p, ihs2, ds2, "IHS_WT", DAY, "10:00", 120)
    b.claim("GEN-PERSON-OVERLAP pass: first in order keeps its minutes", p, ihs, "IHS_WT", DAY, 8)
    b.claim("GEN-PERSON-OVERLAP", p, ihs2, "IHS_WT", DAY, 8, expect=("partial", "GEN-PERSON-OVERLAP"),
            ledger=[("GEN-PERSON-OVERLAP", 4, True)])

    # ---------------------------------------------------------------- TCM (001)
    def tcm_case(case, expect=("paid", None), birth="1990-01-01", staff=tcm_cm, **contact):
        pmi = b.person(program="TANF", birth=birth)
        b.sa_line(pmi, tcm, "TCM_OR")
        b.contact(pmi, tcm, staff, "TCM_OR", DAY, "10:00", 30, **contact)
        b.claim(case, pmi, tcm, "TCM_OR", DAY, 2, expect=expect)

    tcm_case("TCM-FLAG flag No", ("denied", "TCM-FLAG"), tcm_flag="N")
    tcm_case("TCM-FLAG no narrative", ("denied", "TCM-FLAG"), narrative="")
    tcm_case("TCM-FLAG pass")
    tcm_case("TCM-STAFF direct support", ("denied", "TCM-STAFF"), staff=b.staff_member(tcm, "direct_support"))
    tcm_case("TCM-STAFF an aide (on an aide task)", ("denied", "TCM-STAFF"), activity="referral",
             staff=b.staff_member(tcm, "case_management_aide", supervisor_staff_id=tcm_cm))
    tcm_case("TCM-STAFF pass: a case manager", staff=tcm_cm)
    tcm_case("TCM-AGE 13", ("denied", "TCM-AGE"), birth="2011-12-11")
    tcm_case("TCM-AGE pass: 14 that day", birth="2011-12-10")

    # ---------------------------------------------------------------- IHS claim edits (003)
    ihs_case("IHS-WAIVER EW", ("denied", "IHS-WAIVER"), person=b.person(program="EW"))
    ihs_case("IHS-WAIVER pass: BI", person=b.person(program="BI"))
    ihs_case("IHS-WT-ADULT 17", ("denied", "IHS-WT-ADULT"), person=b.person(birth="2007-12-11"))
    ihs_case("IHS-WT-ADULT pass: 18 that day", person=b.person(birth="2007-12-10"))
    ihs_case("IHS-WT-ADULT pass: without training at 17", key="IHS_WOT", person=b.person(birth="2007-12-11"))
    ihs_case("IHS-FT-FOSTER", ("denied", "IHS-FT-FOSTER"), key="IHS_FT", person=b.person(living="licensed_foster_family"))
    ihs_case("IHS-FT-FOSTER pass: own home", key="IHS_FT")
    ihs_case("IHS-LICENSE training without 245D intensive", ("denied", "IHS-LICENSE"), prov=basic, staff=ds_basic)
    ihs_case("IHS-LICENSE pass: without training, 245D basic", key="IHS_WOT", prov=basic, staff=ds_basic)
    ihs_case("IHS-LICENSE without training, no licence", ("denied", "IHS-LICENSE"), key="IHS_WOT", prov=nolic,
             staff=ds_nolic)
    p = ihs_case("IHS-RESIDENTIAL training beside CRS", ("denied", "IHS-RESIDENTIAL"))
    b.sa_line(p, ihs2, "CRS")
    p = ihs_case("IHS-RESIDENTIAL pass: without training beside CRS, in the community, another provider",
                 key="IHS_WOT", prov=basic, staff=ds_basic, staff_location="community")
    b.sa_line(p, ihs2, "CRS")
    p = ihs_case("IHS-RESIDENTIAL without training beside CRS at home", ("denied", "IHS-RESIDENTIAL"),
                 key="IHS_WOT", prov=basic, staff=ds_basic)
    b.sa_line(p, ihs2, "CRS")
    p = ihs_case("IHS-RESIDENTIAL pass: training beside customized living, another provider")
    b.sa_line(p, ihs2, "CUST_LIVING")
    p = ihs_case("IHS-RESIDENTIAL training beside customized living, same provider", ("denied", "IHS-RESIDENTIAL"))
    b.sa_line(p, ihs, "CUST_LIVING")
    # IHS-DAY-OVERLAP: a daily unit first, then 15-minute units the same day
    p = b.person()
    b.sa_line(p, ihs, "IHS_WT_DAY", 100)
    b.sa_line(p, ihs, "IHS_WT")
    b.contact(p, ihs, ds, "IHS_WT_DAY", DAY, "08:00", 400)
    b.contact(p, ihs, ds, "IHS_WT", DAY, "15:00", 120)
    b.contact(p, ihs, ds, "IHS_WT", "2025-12-11", "09:00", 120)
    b.claim("IHS-DAY-OVERLAP pass: the daily unit", p, ihs, "IHS_WT_DAY", DAY, 1, received="2026-01-05")
    b.claim("IHS-DAY-OVERLAP", p, ihs, "IHS_WT", DAY, 8, expect=("denied", "IHS-DAY-OVERLAP"))
    b.claim("IHS-DAY-OVERLAP pass: 15-minute units another day", p, ihs, "IHS_WT", "2025-12-11", 8)
    ihs_case("IHS-DAY-MIN 359 minutes", ("denied", "IHS-DAY-MIN"), key="IHS_WT_DAY", units=1, start="08:00", minutes=359)
    ihs_case("IHS-DAY-MIN pass: exactly 360 minutes", key="IHS_WT_DAY", units=1, start="08:00", minutes=360)

    # ---------------------------------------------------------------- several rules on one line
    ihs_case("several denials", ("denied", "IHS-WAIVER"), person=b.person(program="EW", birth="2013-01-01"),
             sa=False, minutes=0,
             ledger=[("IHS-WAIVER", 8, True), ("IHS-WT-ADULT", 0, False), ("GEN-AUTH-NONE", 0, False),
                     ("GEN-DOC-NONE", 0, False)])
    # 12 billed; 120 documented minutes = 8 units (4 unexplained); 30 of them beside adult day (2 units);
    # 5 left on the agreement (1 unit); another provider's 60 units that day leave room for 4 (1 unit).
    p = b.person()
    b.sa_line(p, ihs2, "IHS_WT")
    b.contact(p, ihs2, ds2, "IHS_WT", DAY, "00:30", 900)
    b.claim("several reductions: earlier provider", p, ihs2, "IHS_WT", DAY, 60, received="2026-01-05")
    b.sa_line(p, ihs, "IHS_WT", units=5)
    b.contact(p, ihs, ds, "IHS_WT", DAY, "15:30", 120)
    b.contact(p, day_prov, day_staff, "ADULT_DAY", DAY, "17:00", 60)
    b.claim("several reductions", p, ihs, "IHS_WT", DAY, 12, expect=("partial", "IHS-CONCURRENT"),
            ledger=[("IHS-CONCURRENT", 2, True), ("GEN-DOC-UNITS", 4, False), ("GEN-AUTH-UNITS", 1, False),
                    ("IHS-DAILY-CAP", 1, False)])

    # ---------------------------------------------------------------- remote cap: exactly 2,920 units a year
    p = b.person()
    b.sa_line(p, ihs, "IHS_WT_REMOTE", units=3000, start="2025-01-15", end="2026-01-14")  # 365 days: cap 2,920
    b.sa_line(p, ihs, "IHS_WT")
    year = days("2025-01-15", "2026-01-08")  # 359 days x 8 units = 2,872; six 4-hour days add 48 = 2,920
    long_days = set(year[10:16])
    total = 0
    for i, d in enumerate(year):
        u = 16 if d in long_days else 8
        total += u
        b.contact(p, ihs, ds, "IHS_WT_REMOTE", d, "17:00", u * 15)
        icn = f"20260110{90000000 + int(d[:4] + d[5:7]):08d}"[:16]
        label = "IHS-REMOTE-CAP pass: the contact reaching exactly 2,920" if total == 2920 else None
        b.claim(label, p, ihs, "IHS_WT_REMOTE", d, u, icn=icn, line_no=int(d[8:]))
    assert total == 2920
    b.contact(p, ihs, ds, "IHS_WT_REMOTE", "2026-01-09", "17:00", 15)
    b.claim("IHS-REMOTE-CAP: one unit past the cap", p, ihs, "IHS_WT_REMOTE", "2026-01-09", 1,
            icn="2026011099999999", expect=("denied", "IHS-REMOTE-CAP"), ledger=[("IHS-REMOTE-CAP", 1, True)])
    return b, {"ihs": ihs, "ihs2": ihs2, "cma1": cma1, "cm1": cm1, "ds": ds, "day_prov": day_prov}



def build_findings(b: Book, w: dict) -> dict:
    """People and staff who exist only for the findings (no claims unless a case says so)."""
    ihs, ds = w["ihs"], w["ds"]
    f = {}
    # IHS-WEEKLY-INPERSON: week of Monday 2025-12-08
    p = f["IHS-WEEKLY-INPERSON"] = b.person()
    b.contact(p, ihs, ds, "IHS_WT_REMOTE", "2025-12-12", "19:00", 30)
    p = f["IHS-WEEKLY-INPERSON pass"] = b.person()
    b.contact(p, ihs, ds, "IHS_WT_REMOTE", "2025-12-12", "19:00", 30)
    b.contact(p, ihs, ds, "IHS_WT", "2025-12-08", "09:00", 60)
    # AUTH-REMOTE-ONLY
    p = f["AUTH-REMOTE-ONLY"] = b.person()
    b.sa_line(p, ihs, "IHS_WT_REMOTE", 100)
    p = f["AUTH-REMOTE-ONLY pass"] = b.person()
    b.sa_line(p, ihs, "IHS_WT_REMOTE", 100)
    b.sa_line(p, ihs, "IHS_WT", 100, start="2025-06-01", end="2025-06-30")
    # AUTH-DAY-OVERLAP
    p = f["AUTH-DAY-OVERLAP"] = b.person()
    b.sa_line(p, ihs, "IHS_WT_DAY", 10, start="2025-12-01", end="2025-12-31")
    b.sa_line(p, ihs, "IHS_WT", 100, start="2025-12-31", end="2026-06-30")
    p = f["AUTH-DAY-OVERLAP pass"] = b.person()
    b.sa_line(p, ihs, "IHS_WT_DAY", 10, start="2025-12-01", end="2025-12-31")
    b.sa_line(p, ihs, "IHS_WT", 100, start="2026-01-01", end="2026-06-30")
    # AUTH-REMOTE-OVER-CAP (365-day lines; in-person lines beside them)
    for label, units, exc in (("AUTH-REMOTE-OVER-CAP", 2921, 0), ("AUTH-REMOTE-OVER-CAP pass", 2920, 0),
                              ("AUTH-REMOTE-OVER-CAP pass: exception", 3000, 80)):
        p = f[label] = b.person()
        b.sa_line(p, ihs, "IHS_WT_REMOTE", units, start="2025-01-01", end="2025-12-31", exception=exc)
        b.sa_line(p, ihs, "IHS_WT", 100, start="2025-01-01", end="2025-12-31")
    # AUTH-DAILY-OVER-CAP: 10 days of in-person IHS, 64 a day at most
    for label, units in (("AUTH-DAILY-OVER-CAP", 641), ("AUTH-DAILY-OVER-CAP pass", 640)):
        p = f[label] = b.person()
        b.sa_line(p, ihs, "IHS_WT", units, start="2025-12-01", end="2025-12-10")
    # AUTH-RESIDENTIAL
    p = f["AUTH-RESIDENTIAL"] = b.person()
    b.sa_line(p, ihs, "IHS_WT", 100)
    b.sa_line(p, w["ihs2"], "FRS", 100)
    p = f["AUTH-RESIDENTIAL pass"] = b.person()
    b.sa_line(p, ihs, "IHS_WOT", 100)
    b.sa_line(p, w["ihs2"], "FRS", 100)
    # IL-CASELOAD: 31 people for one case manager, 30 for another
    agency = b.provider(licenses="", cm="Y")
    for label, n in (("IL-CASELOAD", 31), ("IL-CASELOAD pass", 30)):
        cm = f[label] = b.staff_member(agency, "case_manager")
        for i in range(n):
            b.contact(b.person(), agency, cm, "CM", f"2025-12-{1 + i % 28:02d}", f"{13 + i // 28}:00", 30,
                      activity="monitoring", keep_staff=True)
    # IL-TRAINING
    f["IL-TRAINING"] = b.staff_member(agency, "case_manager", training_hours_12m="11.5")
    f["IL-TRAINING pass"] = b.staff_member(agency, "case_manager", training_hours_12m="12")
    f["IL-TRAINING pass: left before the month"] = b.staff_member(agency, "case_manager", training_hours_12m="0",
                                                                   end_date="2025-12-31")
    # UNBILLED-SERVICE: December 2025 window for January 2026 (60 days: 2025-11-02 .. 2025-12-02)
    p = f["UNBILLED-SERVICE"] = b.person()
    b.contact(p, ihs, ds, "IHS_WT", "2025-11-20", "09:00", 60)
    p = f["UNBILLED-SERVICE pass: billed"] = b.person()
    b.sa_line(p, ihs, "IHS_WT", 100)
    b.contact(p, ihs, ds, "IHS_WT", "2025-11-20", "09:00", 60)
    b.claim(None, p, ihs, "IHS_WT", "2025-11-20", 4)
    p = f["UNBILLED-SERVICE pass: not billable"] = b.person()
    b.contact(p, ihs, ds, "IHS_WT", "2025-11-20", "09:00", 60, activity="housing_search")
    p = f["UNBILLED-SERVICE pass: younger than 60 days"] = b.person()
    b.contact(p, ihs, ds, "IHS_WT", "2025-12-03", "09:00", 60)
    return f


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    root = tmp_path_factory.mktemp("packs")
    b, w = build()
    f = build_findings(b, w)
    b.write(root)
    wh = root / "wh" / "claimrecon.duckdb"
    run_period(root, "2026-01", wh)
    with ro(wh) as con:
        out = con.sql("SELECT icn, line_no, outcome, primary_rule_id, paid_units, billed_amount, paid_amount, "
                      "adjusted_amount FROM claim_outcomes WHERE row_type = 'line'").fetchall()
        led = con.sql("SELECT icn, line_no, rule_id, units, amount, is_primary, carc, rarc, citation "
                      "FROM denial_ledger").fetchall()
        fnd = con.sql("SELECT rule_id, recipient_id, staff_id, evidence FROM findings").fetchall()
        logs = con.sql("SELECT recipient_id, rule_ids, primary_rule_id, duration_minutes, billable_minutes "
                       "FROM log_billability").fetchall()
    outcomes = {(r[0], r[1]): r[2:] for r in out}
    ledger: dict = {}
    for r in led:
        ledger.setdefault((r[0], r[1]), []).append(r[2:])
    return {"book": b, "outcomes": outcomes, "ledger": ledger, "findings": fnd, "f": f, "logs": logs}


def billed_units(packs, key) -> int:
    icn, line_no = key
    row = next(r for r in packs["book"].claims if r["icn"] == icn and int(r["line_no"]) == line_no)
    return int(row["units"])


LOG_RULES = [r.id for r in LOG_CONTRACTS]
EDIT_RULES = [r.id for r in CLAIM_EDITS]
ALL_CASES = list(build()[0].cases)


@pytest.mark.parametrize("case", ALL_CASES)
def test_hand_made_line(packs, case):
    want = packs["book"].cases[case]
    key = (want["icn"], want["line_no"])
    outcome, primary, paid_units, billed, paid, adjusted = packs["outcomes"][key]
    ledger = packs["ledger"].get(key, [])
    assert (outcome, primary) == (want["outcome"], want["rule"]), (case, ledger)
    assert billed == paid + adjusted
    assert sum((r[2] for r in ledger), Decimal("0")) == adjusted
    if want["outcome"] == "paid":
        assert [r[0] for r in ledger if r[0] != "GEN-PRICE"] == [] and paid_units > 0
    else:
        primaries = [r for r in ledger if r[3]]
        assert len(primaries) == 1 and primaries[0][0] == want["rule"]
        rule = catalog.RULES[want["rule"]]  # the codes and citation come from the one catalog
        assert (primaries[0][4], primaries[0][5] or "", primaries[0][6]) == (rule.carc, rule.rarc, rule.citation)
        assert primaries[0][1] == billed_units(packs, key) - paid_units or want["outcome"] == "partial"
    if want["ledger"] is not None:
        ordered = sorted(ledger, key=lambda r: (not r[3], catalog.RANK[r[0]]))
        assert [(r[0], int(r[1]), r[3]) for r in ordered] == want["ledger"], ledger


def test_every_policy_rule_has_a_failing_and_a_passing_case():
    """Each log contract and IHS/CM/TCM claim edit here; the GEN-* rules and IHS-DAILY-CAP in test_hand_made.py."""
    policy = [r for r in LOG_RULES + EDIT_RULES + ["IHS-REMOTE-CAP"] if not r.startswith("GEN-") or r == "GEN-STAFF"]
    for rid in policy:
        mine = [n for n in ALL_CASES if n.split(" ")[0].rstrip(":") == rid]
        fails = [n for n in mine if " pass" not in n]
        passes = [n for n in mine if " pass" in n]
        assert fails and passes, rid
        assert all(build()[0].cases[n]["outcome"] == "paid" for n in passes)


def test_contact_contracts_name_every_rule_broken(packs):
    """A contact breaking several log contracts lists them all; the first in table order names it."""
    by_rule = {}
    for _, rule_ids, primary, dur, billable in packs["logs"]:
        for r in (rule_ids or "").split():
            by_rule.setdefault(r, []).append((primary, dur, billable))
    assert set(LOG_RULES) <= set(by_rule), set(LOG_RULES) - set(by_rule)
    # the social remote contact is also out of scope: both recorded, SOCIAL first
    social = [x for x in packs["logs"] if x[1] and "IHS-REMOTE-SOCIAL" in x[1]]
    assert social and all(x[1].split() == ["IHS-REMOTE-SOCIAL", "IHS-REMOTE-SCOPE"] and x[2] == "IHS-REMOTE-SOCIAL"
                          for x in social)
    # interval rules take only their minutes: the partial overlap leaves 60 of 120
    conc = [x for x in packs["logs"] if x[2] == "IHS-CONCURRENT"]
    assert sorted((x[3], x[4]) for x in conc) == [(120, 60), (120, 60), (120, 90)]


FINDING_CASES = [r.id for r in FINDINGS]


@pytest.mark.parametrize("rule", FINDING_CASES)
def test_every_finding_fails_and_passes_on_hand_made_rows(packs, rule):
    f = packs["f"]
    subjects = {k: v for k, v in f.items() if k.split(" ")[0] == rule}
    hits = {(r[1] if rule not in ("IL-CASELOAD", "IL-TRAINING") else r[2]) for r in packs["findings"] if r[0] == rule}
    assert subjects[rule] in hits, (rule, hits)
    for label, subject in subjects.items():
        if label != rule:
            assert subject not in hits, label
    rows = [r for r in packs["findings"] if r[0] == rule]
    assert all(json.loads(r[3]) for r in rows)  # evidence travels with every finding


def test_findings_from_the_claim_cases_too(packs):
    """AUTH-RESIDENTIAL is raised for the denied training-beside-CRS person, not for the exception."""
    cases = packs["book"].cases
    res = {r[1] for r in packs["findings"] if r[0] == "AUTH-RESIDENTIAL"}
    assert cases["IHS-RESIDENTIAL training beside CRS"]["recipient_id"] in res
    assert cases["IHS-RESIDENTIAL pass: without training beside CRS, in the community, another provider"][
        "recipient_id"] not in res


def test_rule_effective_dates_decide_by_date_of_service(tmp_path, monkeypatch):
    """A rule applies only to services on or after its effective date (rules.md: a month re-run later is
    judged by the rules in force for its dates of service)."""
    rid = "IHS-REMOTE-SOCIAL"
    monkeypatch.setitem(catalog.RULES, rid, dataclasses.replace(catalog.RULES[rid],
                                                                effective_from=dt.date(2025, 12, 15)))
    b = Book()
    prov = b.provider()
    ds = b.staff_member(prov)
    p = b.person()
    b.sa_line(p, prov, "IHS_WT_REMOTE")
    b.sa_line(p, prov, "IHS_WT")
    for d in ("2025-12-10", "2025-12-15"):
        b.contact(p, prov, ds, "IHS_WT_REMOTE", d, "19:00", 30, activity="social")
        b.claim(d, p, prov, "IHS_WT_REMOTE", d, 2)
    b.write(tmp_path)
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    run_period(tmp_path, "2026-01", wh)
    with ro(wh) as con:
        got = dict(con.sql("SELECT CAST(service_date AS VARCHAR), coalesce(primary_rule_id, outcome) FROM claim_outcomes "
                           "WHERE row_type = 'line'").fetchall())
        eff = con.sql("SELECT CAST(effective_from AS VARCHAR) FROM rules WHERE rule_id = $r",
                      params={"r": rid}).fetchall()
    # before the date the social call is not an IHS-REMOTE-SOCIAL denial; IHS-REMOTE-SCOPE still applies
    assert got == {"2025-12-10": "IHS-REMOTE-SCOPE", "2025-12-15": "IHS-REMOTE-SOCIAL"}
    assert eff == [("2025-12-15",)]
