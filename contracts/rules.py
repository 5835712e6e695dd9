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

ALWAYS = dt.date(2000, 1, 1)


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str  # front_end | log | claim | reduction | pricing | finding
    message: str
    citation: str
    group_code: str = ""
    carc: str = ""
    rarc: str = ""
    effective_from: dt.date = ALWAYS
    effective_to: dt.date | None = None
    evidence: tuple[str, ...] = field(default_factory=tuple)

    def in_force_on(self, date):
        """A Polars expression: True where the rule is in force on `date` (an expression over dates).
        Contracts pass a row when its rule is not in force for its date of service."""
        import polars as pl

        ok = date >= pl.lit(self.effective_from)
        if self.effective_to is not None:
            ok = ok & (date <= pl.lit(self.effective_to))
        return ok.fill_null(True)


def _fe(rule_id: str, message: str) -> Rule:
    # A rejected claim line is unprocessable: X12 CARC 16 with RARC MA130, so it balances in the ledger.
    return Rule(rule_id, "front_end", message, "shared/spec/extracts.md; shared/spec/rules.md \"Front-end edits\"",
                "CO", "16", "MA130")


FRONT_END: tuple[Rule, ...] = (
    _fe("FE-PARSE", "The record cannot be read: wrong field count, or an unreadable date, time, number or text encoding."),
    _fe("FE-REQUIRED", "A required field is empty."),
    _fe("FE-FORMAT", "An identifier or code is not in its required format (PMI, NPI/UMPI, ICN, ICD-10, modifiers, or an enumerated value)."),
    _fe("FE-CODE", "The procedure code and modifier set are not in the procedure catalog."),
    _fe("FE-VALUE", "A value is out of range: units not positive or not whole, negative amount, end before start, service after receipt, minutes disagreeing with the times, or a repeated key."),
    _fe("FE-ADJUSTMENT", "The void or replacement is invalid: no original ICN, an unknown or already voided original, or an original ICN on an original claim."),
    _fe("FE-CONTROL", "The file's control trailer is missing or does not match its detail lines: the whole file is refused."),
    _fe("FE-DUPLICATE-FILE", "The same file content was already loaded: the file is skipped, not loaded twice."),
)

# Service-log contracts, in the spec's table order (the first one a contact breaks names it).
LOG_CONTRACTS: tuple[Rule, ...] = (
    Rule("CM-AIDE-AS-CM", "log",
         "Case management aide time was documented or billed as case management; aide services must not be billed as case management.",
         f'{SEED_000} "Secondary information"', "CO", "170", "N95", evidence=("staff_role", "documented_service")),
    Rule("CM-AIDE-TASK", "log",
         "A case management aide performed professional work (assessment, reassessment, support or case plan), which aide services do not cover.",
         f'{SEED_000} "Non-covered services"', "CO", "170", "N95", evidence=("activity",)),
    Rule("CM-AIDE-QUALIFIED", "log",
         "The case management aide does not meet the qualifications: high-school graduate, a year of experience or post-secondary education, supervision by an active case manager, employment by a case management agency.",
         f'{SEED_000} "Provider standards and qualifications"', "CO", "185", "", evidence=("qualification_gap",)),
    Rule("GEN-STAFF", "log",
         "The staff member is not on the roster, was not employed by the provider on the date, or had no cleared background study by then.",
         f'{SEED_003} "Background studies"; {SEED_004} §2', "CO", "185", "", evidence=("staff_gap",)),
    Rule("IHS-REMOTE-2WAY", "log",
         "Remote support without live two-way communication (no two-way exchange, a voicemail or an unanswered message) cannot be billed.",
         f'{SEED_003} "Remote support service delivery option" – provider cannot bill when live, two-way communication does not occur',
         "CO", "96", "N776", evidence=("contact_method", "two_way")),
    Rule("IHS-REMOTE-METHOD", "log",
         "Remote support by a method other than telephone, secure video or secure written messaging (for example a sensor) is not covered.",
         f'{SEED_003} "Remote support service delivery option" – live, two-way communication only includes …; does not cover sensing or biometric devices',
         "CO", "96", "N776", evidence=("contact_method",)),
    Rule("IHS-REMOTE-SOCIAL", "log",
         "Remote support whose exchange is social in nature cannot be billed.",
         f'{SEED_003} "Remote support service delivery option" – exchange … is social in nature', "CO", "96", "N130", evidence=("activity",)),
    Rule("IHS-REMOTE-SCOPE", "log",
         "Remote support is limited to check-ins and consultation; this activity is outside its scope.",
         f'{SEED_003} "Additional requirements specific to IHS" – limited to check-ins … consultation', "CO", "96", "N130", evidence=("activity",)),
    Rule("IHS-REMOTE-DOCS", "log",
         "Remote support documentation is incomplete: the length of the contact or the staff location (office or community) is missing.",
         f'{SEED_003} "Service delivery documentation requirements for providers"', "CO", "16", "N706", evidence=("minutes_given", "staff_location")),
    Rule("IHS-REMOTE-RATIO", "log",
         "Remote support is authorized only at a 1:1 staff-to-person ratio.",
         f'{SEED_003} "Authorization, rates and billing" – remotely as a 15-minute unit at a 1:1 staff-to-person ratio', "CO", "4", "", evidence=("ratio",)),
    Rule("IHS-CONCURRENT", "log",
         "IHS minutes overlapped a service that cannot be delivered at the same time as IHS.",
         f'{SEED_003} "Services that cannot be delivered at the same time as IHS"', "CO", "231", "N20", evidence=("overlap_minutes",)),
    Rule("IHS-SLEEP", "log",
         "IHS supervision during the person's primary sleeping hours is not covered.",
         f'{SEED_003} "Not covered within IHS" item 2', "CO", "96", "N130", evidence=("sleep_minutes",)),
    Rule("IHS-NONCOVERED", "log",
         "IHS does not cover housing search or primarily activities-of-daily-living support.",
         f'{SEED_003} "Not covered within IHS" items 4 and 5', "CO", "96", "N130", evidence=("activity",)),
    Rule("TCM-FLAG", "log",
         "Targeted case management needs the case management flag set to Yes and a narration of the service provided.",
         f'{SEED_001} "Targeted Case Management (TCM)" step 1', "CO", "16", "N706", evidence=("tcm_flag", "has_narrative")),
)

# Claim edits, in precedence order. Log contracts rank where GEN-DOC-NONE stands.
CLAIM_EDITS: tuple[Rule, ...] = (
    Rule("GEN-ELIGIBILITY", "claim", "The person had no waiver enrollment span covering the date of service.",
         "MHCP: pay only for eligible persons", "CO", "177", "N30"),
    Rule("GEN-PROVIDER", "claim", "The billing provider is unknown or was not enrolled on the date of service.",
         f"{SEED_004} §3, §5; MHCP provider enrollment", "CO", "B7", "N767", evidence=("provider_known",)),
    Rule("GEN-TIMELY", "claim", "The claim was received more than 12 months after the date of service (replacements: also not within 6 months of the original's payment).",
         "Minn. R. 9505.0450 subp. 2", "CO", "29", "", evidence=("received_date", "filing_limit")),
    Rule("GEN-DUPLICATE", "claim", "The same service for the same person, provider, date and units was already paid or billed earlier.",
         "MMIS duplicate edit", "OA", "18", "N111", evidence=("duplicate_of",)),
    Rule("IHS-WAIVER", "claim", "IHS is only available through the BI, CAC, CADI or DD waivers.",
         f'{SEED_003} "Eligibility" item 2', "CO", "204", "N216", evidence=("waiver_program",)),
    Rule("IHS-WT-ADULT", "claim", "IHS with training is available to adults only; the person was under 18 on the date of service.",
         f'{SEED_003} "Service options" – With training … available to adults only', "CO", "6", "", evidence=("age",)),
    Rule("IHS-FT-FOSTER", "claim", "IHS with family training is not covered for a family licensed for foster care, family residential or community residential services.",
         f'{SEED_003} "Not covered within IHS", last paragraph', "CO", "96", "N130", evidence=("living_arrangement",)),
    Rule("IHS-LICENSE", "claim", "The provider lacks the licence this IHS option requires (245D intensive for training options; a basic, 144A, senior companion or excluded status for IHS without training).",
         f'{SEED_003} "License requirement"; "245D exclusion"', "CO", "B7", "", evidence=("licenses",)),
    Rule("IHS-RESIDENTIAL", "claim", "IHS cannot be authorized beside community residential, customized living, family residential or integrated community supports outside the listed exceptions.",
         f'{SEED_003} "Services that cannot be authorized with IHS"; "Exceptions"', "CO", "231", "N20", evidence=("residential_sa",)),
    Rule("IHS-REMOTE-NO-INPERSON", "claim", "Remote IHS was billed on a date with no approved in-person IHS agreement line.",
         f'{SEED_003} "Authorization, rates and billing" – cannot authorize remote support without in-person IHS', "CO", "284", "N54"),
    Rule("IHS-DAY-OVERLAP", "claim", "An IHS-with-training daily unit and 15-minute IHS-with-training units were billed for the same person and date; the later one is denied.",
         f'{SEED_003} "Unit breakdown for IHS with training 1:1" – do not authorize both …', "CO", "97", "N20", evidence=("overlaps",)),
    Rule("CM-CONFLICT", "claim", "The case management provider holds an agreement for another waiver service for this person (financial interest).",
         f'{SEED_000} "Secondary information" – financial interest in the services provided to the person', "CO", "B7", "", evidence=("other_service_sa",)),
    Rule("CM-AIDE-ONE-PROVIDER", "claim", "Case management aide services for the person that day were already provided by another provider.",
         f'{SEED_000} "Secondary information" – more than one provider on the same day', "CO", "B20", "", evidence=("first_provider",)),
    Rule("TCM-AGE", "claim", "Targeted case management is claimable only for a parent aged 14 or older.",
         f'{SEED_001} "Targeted Case Management (TCM)" – a parent age 14 or older', "CO", "6", "", evidence=("age",)),
    Rule("GEN-AUTH-NONE", "claim", "No approved service agreement line covers this person, provider, service and date.",
         f'MMIS SA edit; {SEED_000} "Secondary information" – DHS pays the provider as indicated on the service agreement',
         "CO", "197", "N54", evidence=("auth_variant",)),
    Rule("GEN-DOC-NONE", "claim", "No documented service contact matches this claim line.",
         "MHCP: bill only for services provided; 21st Century Cures Act EVV matching", "CO", "B12", "N706"),
    Rule("IHS-DAY-MIN", "claim", "A daily IHS unit needs at least 6 hours (360 minutes) of billable in-person support that day.",
         f'{SEED_003} "Unit breakdown for IHS with training 1:1"', "CO", "151", "N430", evidence=("billable_minutes",)),
)

REDUCTIONS: tuple[Rule, ...] = (
    Rule("GEN-DOC-UNITS", "reduction", "Units billed beyond the documented units.",
         'Sandata EVV exception "Units Do Not Match"', "CO", "151", "", evidence=("documented_units",)),
    Rule("GEN-AUTH-UNITS", "reduction", "Units billed beyond what remains on the service agreement line.",
         "MMIS SA units edit", "CO", "198", "N45", evidence=("remaining_units",)),
    Rule("IHS-DAILY-CAP", "reduction", "In-person IHS is limited to 16 hours (64 units) per person per day across all providers.",
         f'{SEED_003} "Not covered within IHS" item 3 – exceed 16 hours per day of in-person IHS', "CO", "119", "N362", evidence=("units_used_that_day",)),
    Rule("IHS-REMOTE-CAP", "reduction", "Remote IHS is limited to 730 hours (2,920 units) per agreement year, prorated, plus approved exception units.",
         f'{SEED_003} "Limitations" – 730 hours per year', "CO", "119", "N362", evidence=("remote_cap", "remote_used")),
    Rule("GEN-PRICE", "pricing", "The charge is above the service agreement rate; payment is limited to units times the approved rate.",
         f'{SEED_000} "Secondary information" – DHS pays the provider as indicated on the service agreement', "CO", "45", "", evidence=("unit_rate",)),
)

FINDINGS: tuple[Rule, ...] = (
    Rule("IHS-WEEKLY-INPERSON", "finding", "A week (Monday–Sunday) had remote IHS but no in-person IHS contact for the person.",
         f'{SEED_003} "Additional requirements specific to IHS" – in-person support … once a week'),
    Rule("AUTH-REMOTE-ONLY", "finding", "An approved remote IHS agreement line has no overlapping in-person IHS line.",
         f'{SEED_003} "Authorization, rates and billing"'),
    Rule("AUTH-DAY-OVERLAP", "finding", "IHS-with-training daily and 15-minute agreement lines overlap.",
         f'{SEED_003} "Unit breakdown for IHS with training 1:1"'),
    Rule("AUTH-REMOTE-OVER-CAP", "finding", "Remote IHS units authorized above 2,920 a year (prorated) plus the exception.",
         f'{SEED_003} "Service amount" – Remote support'),
    Rule("AUTH-DAILY-OVER-CAP", "finding", "In-person IHS units authorized above 64 a day on average over the span.",
         f'{SEED_003} "Service amount" – In-person services'),
    Rule("AUTH-RESIDENTIAL", "finding", "IHS authorized beside CRS, customized living, FRS or ICS outside the exceptions.",
         f'{SEED_003} "Services that cannot be authorized with IHS"'),
    Rule("IL-CASELOAD", "finding", "A case manager served more than 30 distinct people in the month.", f"{SEED_004} §10"),
    Rule("IL-TRAINING", "finding", "A case manager had fewer than 12 in-service training hours in the last 12 months.", f"{SEED_004} §10"),
    Rule("UNBILLED-SERVICE", "finding", "Billable documented contacts older than 60 days have no claim (revenue not claimed).", "reconciliation"),
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
