"""The billing rule catalog: one definition of every rule.

Each rule carries its stable id (from ``shared/spec/rules.md``), a plain-English message, the
X12 group code and CARC/RARC *numbers* (never the licensed X12 descriptions), the policy citation
(seed file + section), its effective dates, its kind and the evidence fields a reviewer sees.

The contracts that enforce the rules (``contracts/front_end.py``, ``contracts/service_logs.py``,
``contracts/claim_edits.py``) name their Pandera checks by these ids, so a failing row is routed
to the ledger with this definition. ``claimrecon catalog`` renders this module as
``docs/rule_catalog.md``; CI checks the page is current.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

SEED_000 = "000_1b649a03a3c8b964.txt"
SEED_001 = "001_ca22dfb0291be649.txt"
SEED_003 = "003_56516edcdfaf4014.txt"
SEED_004 = "004_7f9136bd421c8301.txt"

#: The policy documents by title (rules.md revision 2: cite by title and date, then section, then seed file).
DOCS = {
    SEED_000: 'MN DHS CBSM "Case management aide" (updated 12/29/17)',
    SEED_001: 'Oregon Self-Sufficiency manual "Case Management – Overview" (Release 76, 2015)',
    SEED_003: 'MN DHS CBSM "Individualized home supports (IHS)" (updated 12/9/25)',
    SEED_004: '"Guide to Becoming a Case Management Service Provider in Illinois"',
}
#: When each seed's rules come into force (rules.md revision 2 preamble).
SEED_FROM = {SEED_000: dt.date(2003, 10, 1), SEED_001: dt.date(2015, 1, 1), SEED_003: dt.date(2020, 12, 15),
             SEED_004: dt.date(2025, 3, 3)}

REVISION = 2


def cite(seed: str, section: str) -> str:
    """`<document title>, <section> [<seed file>]`."""
    return f"{DOCS[seed]}, {section} [{seed}]"


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str  # front_end | log | claim | reduction | pricing | finding
    message: str
    citation: str
    group_code: str = ""
    carc: str = ""
    rarc: str = ""
    #: None = in force on every date, with no lower bound (GEN-*, FE-* and rules citing no seed).
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    evidence: tuple[str, ...] = field(default_factory=tuple)
    #: the seeds cited (the rule is in force from the earliest of their dates, unless GEN-*/FE-*)
    seeds: tuple[str, ...] = field(default_factory=tuple)
    #: rules.md revision that last changed the rule's meaning (1 = unchanged since revision 1)
    revision: int = 1
    #: other group/CARC/RARC combinations the rule can emit, e.g. GEN-AUTH-NONE's CO-284 / CO-296
    variants: tuple[str, ...] = field(default_factory=tuple)

    def in_force_on(self, date):
        """A Polars expression: True where the rule is in force on `date` (an expression over dates).
        Contracts pass a row when its rule is not in force for its date of service."""
        import polars as pl

        ok = pl.lit(True)
        if self.effective_from is not None:
            ok = date >= pl.lit(self.effective_from)
        if self.effective_to is not None:
            ok = ok & (date <= pl.lit(self.effective_to))
        return ok.fill_null(True)


def _rule(rule_id: str, kind: str, message: str, citation: str, group: str = "", carc: str = "", rarc: str = "",
          *, seeds: tuple[str, ...] = (), evidence: tuple[str, ...] = (), revision: int = 1,
          variants: tuple[str, ...] = ()) -> Rule:
    """A rule in force from the earliest date of the seeds it cites; GEN-* and FE-* on every date."""
    general = rule_id.startswith(("GEN-", "FE-"))
    start = None if general or not seeds else min(SEED_FROM[s] for s in seeds)
    return Rule(rule_id, kind, message, citation, group, carc, rarc, effective_from=start, evidence=evidence,
                seeds=seeds, revision=revision, variants=variants)


EXTRACTS_DOC = 'claimrecon inbox format (docs/inbox.md), after the MN MMIS claim and service agreement extracts'


def _fe(rule_id: str, message: str, revision: int = 1) -> Rule:
    # A rejected claim line is unprocessable: X12 CARC 16 with RARC MA130, so it balances in the ledger.
    return _rule(rule_id, "front_end", message, f'{EXTRACTS_DOC}; claimrecon rule catalog "Front-end edits"',
                 "CO", "16", "MA130", revision=revision)


FRONT_END: tuple[Rule, ...] = (
    _fe("FE-PARSE", "The record cannot be read: wrong field count, or an unreadable date, time, number or text encoding."),
    _fe("FE-REQUIRED", "A required field is empty."),
    _fe("FE-FORMAT", "An identifier or code is not in its required format (PMI, NPI/UMPI, ICN, ICD-10, modifiers, or an enumerated value)."),
    _fe("FE-CODE", "The procedure code and modifier set are not in the procedure catalog."),
    _fe("FE-VALUE", "A value is out of range or inconsistent: units not positive or not whole, negative amount, end before start, "
        "service after receipt, minutes disagreeing with the times, delivery mode disagreeing with the contact method, "
        "or a repeated key.", revision=2),
    _fe("FE-ADJUSTMENT", "The void or replacement is invalid: no original ICN, an unknown original or one already voided or "
        "replaced, an original ICN on an original claim, void lines that differ from the original's, or another line of "
        "the adjustment claim was rejected.", revision=2),
    _fe("FE-CONTROL", "The file's control trailer is missing or does not match its detail lines: the whole file is refused."),
    _fe("FE-DUPLICATE-FILE", "The same file content was already loaded (or is the snapshot already in force): the file is "
        "skipped, not loaded twice.", revision=2),
)

S0, S1, S3, S4 = (SEED_000,), (SEED_001,), (SEED_003,), (SEED_004,)

# Service-log contracts, in the spec's table order (the first one a contact breaks names it).
LOG_CONTRACTS: tuple[Rule, ...] = (
    _rule("CM-AIDE-AS-CM", "log",
          "Case management aide time was documented or billed as case management; aide services must not be billed as case management.",
          cite(SEED_000, '"Secondary information"'), "CO", "170", "N95", seeds=S0, evidence=("staff_role", "documented_service")),
    _rule("CM-AIDE-TASK", "log",
          "Aide time was spent on work that is not one of the administrative tasks aides may do (case preparation, provider "
          "contacts, phone contacts, MMIS entry, referrals): professional work or direct service is not covered as aide time.",
          cite(SEED_000, '"Covered services", "Non-covered services"'), "CO", "170", "N95", seeds=S0, evidence=("activity",),
          revision=2),
    _rule("CM-STAFF", "log",
          "Case management was documented by a roster staff member who is not a case manager, or aide time by direct-support staff.",
          cite(SEED_000, '"Case management aide" vs. "Waiver case management"') + "; " + cite(SEED_004, "§9"),
          "CO", "185", "", seeds=S0 + S4, evidence=("staff_role",), revision=2),
    _rule("CM-AIDE-QUALIFIED", "log",
          "The case management aide does not meet the qualifications: high-school graduate, a year of experience or post-secondary education, supervision by an active case manager, employment by a case management agency.",
          cite(SEED_000, '"Provider standards and qualifications"'), "CO", "185", "", seeds=S0, evidence=("qualification_gap",)),
    _rule("GEN-STAFF", "log",
          "The staff member is not on the roster, was not employed by the provider on the date, or had no cleared background study by then.",
          cite(SEED_003, '"Background studies"') + "; " + cite(SEED_004, "§2"), "CO", "185", "", seeds=S3 + S4,
          evidence=("staff_gap",)),
    _rule("IHS-REMOTE-2WAY", "log",
          "Remote support without live two-way communication (no two-way exchange, a voicemail or an unanswered message) cannot be billed.",
          cite(SEED_003, '"Remote support" – provider cannot bill when live, two-way communication does not occur'),
          "CO", "96", "N776", seeds=S3, evidence=("contact_method", "two_way")),
    _rule("IHS-REMOTE-METHOD", "log",
          "Remote support by a method other than telephone, secure video or secure written messaging (for example a sensor) is not covered.",
          cite(SEED_003, '"Remote support" – live, two-way communication only includes …; does not cover sensing or biometric devices'),
          "CO", "96", "N776", seeds=S3, evidence=("contact_method",)),
    _rule("IHS-REMOTE-SOCIAL", "log",
          "Remote support whose exchange is social in nature cannot be billed.",
          cite(SEED_003, '"Remote support" – exchange … is social in nature'), "CO", "96", "N130", seeds=S3, evidence=("activity",)),
    _rule("IHS-REMOTE-SCOPE", "log",
          "Remote support is limited to check-ins and consultation; this activity is outside its scope.",
          cite(SEED_003, '"Remote support" – limited to check-ins … consultation'), "CO", "96", "N130", seeds=S3,
          evidence=("activity",)),
    _rule("IHS-REMOTE-DOCS", "log",
          "Remote support documentation is incomplete: the length of the contact or the staff location (office or community) is missing.",
          cite(SEED_003, '"Service delivery documentation requirements for providers"'), "CO", "16", "N706", seeds=S3,
          evidence=("minutes_given", "staff_location")),
    _rule("IHS-REMOTE-RATIO", "log",
          "Remote support is authorized only at a 1:1 staff-to-person ratio.",
          cite(SEED_003, '"Authorization, rates and billing" – remotely as a 15-minute unit at a 1:1 staff-to-person ratio'),
          "CO", "4", "", seeds=S3, evidence=("ratio",)),
    _rule("IHS-DELIVERY-CODE", "log",
          "The IHS contact's delivery (in person or remote) is not the delivery of the procedure code and modifiers it was documented on.",
          cite(SEED_003, '"Authorization, rates and billing" – in person or remotely as separate units'), "CO", "4", "",
          seeds=S3, evidence=("delivery_mode", "code_delivery"), revision=2),
    _rule("IHS-RATIO-CODE", "log",
          "An in-person IHS contact documented at 1:2 was documented on a 1:1 code.",
          cite(SEED_003, '"Authorization, rates and billing" – in person as a 15-minute unit at a 1:1 or 1:2 staff-to-person ratio'),
          "CO", "4", "", seeds=S3, evidence=("ratio", "code_ratio"), revision=2),
    _rule("GEN-STAFF-OVERLAP", "log",
          "During these minutes the same staff member also documented contacts for other people beyond the ratio "
          "(1:1: no one else; 1:2: one other person at 1:2); the contact earlier in order keeps the minutes.",
          cite(SEED_003, '"Authorization, rates and billing" – staff-to-person ratios') + "; MHCP: bill only for time actually spent with the person; EVV overlap edits",
          "CO", "B12", "N706", seeds=S3, evidence=("staff_overlap_minutes",), revision=2),
    _rule("GEN-PERSON-OVERLAP", "log",
          "These in-person minutes overlap another in-person contact of the same service for the same person by another "
          "staff member or provider; the contact earlier in order keeps the minutes.",
          cite(SEED_003, '"Covered services" – duplicate other state plan or waiver services') + "; MHCP: bill only for services provided",
          "OA", "18", "N111", seeds=S3, evidence=("person_overlap_minutes",), revision=2),
    _rule("IHS-CONCURRENT", "log",
          "IHS minutes overlapped a service that cannot be delivered at the same time as IHS.",
          cite(SEED_003, '"Services that cannot be delivered at the same time as IHS"'), "CO", "231", "N20", seeds=S3,
          evidence=("overlap_minutes",)),
    _rule("IHS-SLEEP", "log",
          "IHS supervision during the person's primary sleeping hours is not covered.",
          cite(SEED_003, '"Not covered within IHS" item 2'), "CO", "96", "N130", seeds=S3, evidence=("sleep_minutes",)),
    _rule("IHS-NONCOVERED", "log",
          "IHS does not cover housing search, nor activities-of-daily-living support on a day when it is more than half of the "
          "person's IHS minutes with this provider (IHS that primarily delivers ADLs).",
          cite(SEED_003, '"Not covered within IHS" items 4 and 5'), "CO", "96", "N130", seeds=S3,
          evidence=("activity", "adl_share"), revision=2),
    _rule("TCM-FLAG", "log",
          "Targeted case management needs the case management flag set to Yes and a narration of the service provided.",
          cite(SEED_001, '"Targeted Case Management (TCM)" step 1'), "CO", "16", "N706", seeds=S1,
          evidence=("tcm_flag", "has_narrative")),
    _rule("TCM-STAFF", "log",
          "Targeted case management was documented by a roster staff member who is not a case manager.",
          cite(SEED_001, '"Targeted Case Management (TCM)" – provided … by a TANF case manager'), "CO", "185", "",
          seeds=S1, evidence=("staff_role",), revision=2),
)

WAIVER_PROGRAMS = ("BI", "CAC", "CADI", "DD", "EW", "AC", "ECS")

# Claim edits, in precedence order. Log contracts rank where GEN-DOC-NONE stands.
CLAIM_EDITS: tuple[Rule, ...] = (
    _rule("GEN-DECEASED", "claim", "The date of service is after the person's date of death.",
          "MMIS date-of-death edit", "CO", "13", "", evidence=("death_date",), revision=2),
    _rule("GEN-ELIGIBILITY", "claim", "The person had no enrollment span covering the date of service.",
          "MHCP: pay only for eligible persons", "CO", "177", "N30", evidence=("waiver_program",)),
    _rule("GEN-PROGRAM", "claim",
          "The person's enrollment on the date of service is not a program that covers this service (waiver services need "
          "BI, CAC, CADI, DD, EW, AC or ECS; targeted case management needs TANF).",
          cite(SEED_000, '"Legal authority"') + "; " + cite(SEED_001, '"Targeted Case Management (TCM)" – provided to TANF participants'),
          "CO", "204", "N216", seeds=S0 + S1, evidence=("waiver_program",), revision=2),
    _rule("GEN-INPATIENT", "claim",
          "The person was an inpatient of a hospital, nursing facility or ICF/DD on the date of service (admission and "
          "discharge dates excepted, except a transfer date that ends one stay and begins another; case management "
          "excepted).",
          "42 CFR 441.301(b)(1)(ii): waiver services are for people who are not inpatients of a hospital, NF or ICF/IID",
          "CO", "96", "N30", evidence=("facility_stay",), revision=2),
    _rule("GEN-PROVIDER", "claim", "The billing provider is unknown or was not enrolled on the date of service.",
          cite(SEED_004, "§3, §5") + "; MHCP provider enrollment", "CO", "B7", "N767", seeds=S4, evidence=("provider_known",)),
    _rule("GEN-TIMELY", "claim", "The claim was received more than 12 months after the date of service (replacements: also not within 6 months of the original's payment).",
          "Minn. R. 9505.0450 subp. 2", "CO", "29", "", evidence=("received_date", "filing_limit")),
    _rule("GEN-DUPLICATE", "claim", "The same service for the same person, provider, date and units was already paid, or billed earlier in order and paid.",
          "MMIS duplicate edit", "OA", "18", "N111", evidence=("duplicate_of",)),
    _rule("IHS-WAIVER", "claim", "IHS is only available through the BI, CAC, CADI or DD waivers.",
          cite(SEED_003, '"Eligibility" item 2'), "CO", "204", "N216", seeds=S3, evidence=("waiver_program",)),
    _rule("IHS-WT-ADULT", "claim", "IHS with training is available to adults only; the person was under 18 on the date of service.",
          cite(SEED_003, '"Service options" – With training … available to adults only'), "CO", "6", "", seeds=S3, evidence=("age",)),
    _rule("IHS-FT-FOSTER", "claim", "IHS with family training is not covered for a person living with a licensed foster, family residential or community residential family.",
          cite(SEED_003, '"Not covered within IHS", last paragraph'), "CO", "96", "N130", seeds=S3, evidence=("living_arrangement",)),
    _rule("IHS-FT-HOME", "claim", "IHS with family training is for people living in their family's home; the person's living arrangement on the date of service is not the family home.",
          cite(SEED_003, '"Service options" – IHS with family training … children and adults living in their family\'s home'),
          "CO", "96", "N130", seeds=S3, evidence=("living_arrangement",), revision=2),
    _rule("IHS-LICENSE", "claim", "The provider lacks the licence this IHS option requires (245D intensive for training options; a basic, 144A, senior companion or excluded status for IHS without training).",
          cite(SEED_003, '"License requirement"; "245D exclusion"'), "CO", "B7", "", seeds=S3, evidence=("licenses",)),
    _rule("IHS-RESIDENTIAL", "claim", "IHS cannot be authorized beside community residential, customized living, family residential or integrated community supports outside the listed exceptions.",
          cite(SEED_003, '"Services that cannot be authorized with IHS"; "Exceptions"'), "CO", "231", "N20", seeds=S3, evidence=("residential_sa",)),
    _rule("IHS-REMOTE-NO-INPERSON", "claim", "Remote IHS was billed on a date with no approved in-person IHS agreement line.",
          cite(SEED_003, '"Authorization, rates and billing" – cannot authorize remote support without in-person IHS'), "CO", "284", "N54", seeds=S3),
    _rule("IHS-DAY-OVERLAP", "claim", "An IHS-with-training daily unit and 15-minute IHS-with-training units were billed for the same person and date, and the earlier one was paid; the later one is denied.",
          cite(SEED_003, '"Unit breakdown for IHS with training 1:1" – do not authorize both …'), "CO", "97", "N20", seeds=S3, evidence=("overlaps",)),
    _rule("CM-AGENCY", "claim", "Case management or aide services were billed by a provider that is not a case management agency.",
          cite(SEED_000, '"Provider standards and qualifications" – employed by an agency that provides waiver case management') + "; " + cite(SEED_004, "§3"),
          "CO", "B7", "", seeds=S0 + S4, evidence=("case_management_agency",), revision=2),
    _rule("CM-CONFLICT", "claim", "The case management provider holds an agreement for another waiver service for this person (financial interest).",
          cite(SEED_000, '"Secondary information" – financial interest in the services provided to the person'), "CO", "B7", "", seeds=S0,
          evidence=("other_service_sa",)),
    _rule("CM-AIDE-ONE-PROVIDER", "claim", "Case management aide services for the person that day were already paid to another provider.",
          cite(SEED_000, '"Secondary information" – more than one provider on the same day'), "CO", "B20", "", seeds=S0,
          evidence=("first_provider",)),
    _rule("TCM-AGE", "claim", "Targeted case management is claimable only for a parent aged 14 or older.",
          cite(SEED_001, '"Targeted Case Management (TCM)" – a parent age 14 or older'), "CO", "6", "", seeds=S1, evidence=("age",)),
    _rule("GEN-AUTH-NONE", "claim", "No approved service agreement line covers this person, provider, service and date.",
          "MMIS SA edit; " + cite(SEED_000, '"Secondary information" – DHS pays the provider as indicated on the service agreement'),
          "CO", "197", "N54", seeds=S0, evidence=("auth_variant",),
          variants=("CO-284 N54: an agreement line covers the person and provider for another service",
                    "CO-296 N54: an agreement line covers the service for another provider")),
    _rule("GEN-DOC-NONE", "claim", "No documented service contact matches this claim line.",
          "MHCP: bill only for services provided; 21st Century Cures Act EVV matching", "CO", "B12", "N706"),
    _rule("IHS-DAY-MIN", "claim", "A daily IHS unit needs at least 6 hours (360 minutes) of billable in-person support that day.",
          cite(SEED_003, '"Unit breakdown for IHS with training 1:1"'), "CO", "151", "N430", seeds=S3, evidence=("billable_minutes",)),
)

REDUCTIONS: tuple[Rule, ...] = (
    _rule("GEN-DOC-UNITS", "reduction", "Units billed beyond the billable documented units.",
          'Sandata EVV exception "Units Do Not Match"', "CO", "151", "", evidence=("documented_units",)),
    _rule("GEN-AUTH-UNITS", "reduction", "Units billed beyond what remains on the service agreement line.",
          "MMIS SA units edit", "CO", "198", "N45", evidence=("remaining_units",)),
    _rule("IHS-DAILY-CAP", "reduction", "In-person IHS is limited to 16 hours (64 units) per person per day across all providers.",
          cite(SEED_003, '"Not covered within IHS" – exceed 16 hours per day of in-person IHS'), "CO", "119", "N362", seeds=S3,
          evidence=("units_used_that_day",)),
    _rule("IHS-REMOTE-CAP", "reduction",
          "Remote IHS is limited to 730 hours (2,920 units) per person in a remote-support year (365 days), across every "
          "provider and agreement line, plus approved exception units.",
          cite(SEED_003, '"Limitations" – 730 hours per year; remote support … (i.e., 365 days)'), "CO", "119", "N362", seeds=S3,
          evidence=("remote_cap", "remote_used"), revision=2),
    _rule("GEN-PRICE", "pricing", "The charge is above the service agreement rate; payment is limited to units times the approved rate.",
          cite(SEED_000, '"Secondary information" – DHS pays the provider as indicated on the service agreement'),
          "CO", "45", "", seeds=S0, evidence=("unit_rate",)),
)

FINDINGS: tuple[Rule, ...] = (
    _rule("IHS-WEEKLY-INPERSON", "finding", "A week (Monday–Sunday) had remote IHS but no in-person IHS contact for the person.",
          cite(SEED_003, '"Additional requirements specific to IHS" – in-person support … once a week'), seeds=S3),
    _rule("AUTH-REMOTE-ONLY", "finding", "An approved remote IHS agreement line has no overlapping in-person IHS line.",
          cite(SEED_003, '"Authorization, rates and billing"'), seeds=S3),
    _rule("AUTH-DAY-OVERLAP", "finding", "IHS-with-training daily and 15-minute agreement lines overlap.",
          cite(SEED_003, '"Unit breakdown for IHS with training 1:1"'), seeds=S3),
    _rule("AUTH-REMOTE-OVER-CAP", "finding", "Remote IHS units authorized above 2,920 a year plus the exception.",
          cite(SEED_003, '"Service amount" – Remote support'), seeds=S3),
    _rule("AUTH-DAILY-OVER-CAP", "finding", "In-person IHS units authorized above 64 a day on average over the span.",
          cite(SEED_003, '"Service amount" – In-person services'), seeds=S3),
    _rule("AUTH-RESIDENTIAL", "finding", "IHS authorized beside CRS, customized living, FRS or ICS outside the exceptions.",
          cite(SEED_003, '"Services that cannot be authorized with IHS"'), seeds=S3),
    _rule("AUTH-MAX-DEFAULT", "finding", "An in-person IHS agreement line authorizes exactly the daily maximum (64 units a day over its whole span).",
          cite(SEED_003, '"Service amount" – not default to authorizing the maximum allowable amount'), seeds=S3, revision=2),
    _rule("IL-CASELOAD", "finding",
          "A case manager had more than 30 distinct people in the month (people whose approved agreement lines name them, "
          "with the people they documented contacts for).", cite(SEED_004, "§10"), seeds=S4, revision=2),
    _rule("IL-TRAINING", "finding", "A case manager had fewer than 12 in-service training hours in the last 12 months.",
          cite(SEED_004, "§10"), seeds=S4),
    _rule("UNBILLED-SERVICE", "finding", "Billable documented contacts older than 60 days have no claim (revenue not claimed).",
          "claimrecon reconciliation"),
)

ALL_RULES: tuple[Rule, ...] = FRONT_END + LOG_CONTRACTS + CLAIM_EDITS + REDUCTIONS + FINDINGS
RULES: dict[str, Rule] = {r.id: r for r in ALL_RULES}

LOG_ORDER = [r.id for r in LOG_CONTRACTS]
FE_ORDER = [r.id for r in FRONT_END]


def precedence() -> list[str]:
    """Primary-reason order for claim lines: claim edits with log contracts at GEN-DOC-NONE's place."""
    order: list[str] = []
    for r in CLAIM_EDITS:
        if r.id == "GEN-DOC-NONE":
            order.extend(LOG_ORDER)
        order.append(r.id)
    order.extend(r.id for r in REDUCTIONS)
    return order


PRECEDENCE = precedence()
RANK = {rid: i for i, rid in enumerate(PRECEDENCE)}

# Reductions apply in this order (rules.md "How a claim line is judged", step 4).
REDUCTION_ORDER = LOG_ORDER + ["GEN-DOC-UNITS", "GEN-AUTH-UNITS", "IHS-DAILY-CAP", "IHS-REMOTE-CAP"]

# Codes the spec marks deactivated: never emitted (checked by a test over the catalog).
DEACTIVATED_CODES = {"15", "N29", "M78"}


def catalog_version() -> str:
    """A short hash of every rule definition: recorded in `runs` so a run names the rules it used."""
    payload = json.dumps([dataclasses.asdict(r) for r in ALL_RULES], default=str, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def passes(rule_id: str, ok):
    """What a contract checks for one rule (a Polars expression): the row meets the rule, or the rule is
    not in force on its date of service (rules.md: judged by the rules in force for its dates)."""
    import polars as pl

    return ok.fill_null(False) | ~RULES[rule_id].in_force_on(pl.col("service_date"))


def auth_none_codes(variant: str) -> tuple[str, str, str]:
    """GEN-AUTH-NONE carries CO-284 N54 / CO-296 N54 / CO-197 N54 by what *was* authorized."""
    return {"other_service": ("CO", "284", "N54"), "other_provider": ("CO", "296", "N54")}.get(variant, ("CO", "197", "N54"))


@dataclass(frozen=True)
class Parameters:
    """Rule parameters, configurable per run (Dagster run config) and recorded in `runs`."""

    daily_cap_units: int = 64
    daily_unit_equivalent: int = 24
    remote_cap_units: int = 2920
    round_up_remainder_minutes: int = 8
    timely_filing_months: int = 12
    replacement_grace_months: int = 6
    day_unit_min_minutes: int = 360
    default_sleep_start: str = "22:00"
    default_sleep_end: str = "06:00"
    unbilled_after_days: int = 60
    caseload_max: int = 30
    training_hours_min: float = 12.0
    minutes_tolerance: int = 1

    def as_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)
