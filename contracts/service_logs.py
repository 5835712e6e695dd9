"""Service-log contracts: which documented minutes can support a claim.

One Pandera check per rule, named by its rule id, over the facts of ``sql/contact_evidence.sql``.
A contact that breaks a contract still exists; its minutes (all, or the overlapping part for the
interval rules) are simply not billable. Read top to bottom, this is the policy:
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from contracts.rules import LOG_ORDER, RULES, passes

c = pl.col
remote = c("is_remote_ihs")

#: The administrative tasks of the seed's examples: the only work an aide's time covers (CM-AIDE-TASK, rev. 2).
AIDE_TASKS = ["case_preparation", "provider_contact", "phone_contact", "mmis_entry", "referral"]
on_roster_not_cm = c("on_roster") & (c("staff_role") != "case_manager")
aide_contact = c("is_aide") | c("is_cma")

#: rule id -> (True where the contact passes, minutes the rule removes when it fails: None = all)
#: Interval rules (the overlaps, IHS-CONCURRENT, IHS-SLEEP) fail on any minute they claim but remove only the
#: minutes no interval rule before them claimed (sql/contact_evidence.sql `iv_minutes`): no minute twice.
LOG_CHECKS: dict[str, tuple[pl.Expr, pl.Expr | None]] = {
    # 000 "Secondary information": aide services must not be billed as case management.
    "CM-AIDE-AS-CM": (~(c("is_aide") & c("is_cm")), None),
    # 000 "Covered services", "Non-covered services" (revision 2): aide time (the aide code, or an aide) covers
    # only the administrative tasks; professional work and direct service are not aide time.
    "CM-AIDE-TASK": (~(aide_contact & ~c("activity").is_in(AIDE_TASKS)), None),
    # 000 "Case management aide" vs. "Waiver case management"; 004 §9: case management by a case manager,
    # aide time not by direct-support staff. Staff not on the roster are GEN-STAFF (Clarification 15).
    "CM-STAFF": (~((c("is_cm") & on_roster_not_cm) | (c("is_cma") & c("on_roster") & (c("staff_role") == "direct_support"))), None),
    # 000 "Provider standards and qualifications".
    "CM-AIDE-QUALIFIED": (~c("is_aide") | (c("hs_graduate") & c("experience_ok") & c("supervised") & c("employer_cm_agency")), None),
    # 003 "Background studies"; 004 §2: on the roster, employed by the provider that day, study cleared.
    "GEN-STAFF": (c("on_roster") & c("employed_on_date") & c("background_cleared"), None),
    # 003 remote support: live two-way communication only (every IHS contact delivered remotely, Clarification 15).
    "IHS-REMOTE-2WAY": (~remote | ((c("two_way") == "Y") & ~c("contact_method").is_in(["voicemail", "unanswered_message"])).fill_null(False), None),
    "IHS-REMOTE-METHOD": (~remote | c("contact_method").is_in(["telephone", "video", "secure_message"]), None),
    "IHS-REMOTE-SOCIAL": (~remote | (c("activity") != "social"), None),
    "IHS-REMOTE-SCOPE": (~remote | c("activity").is_in(["check_in", "consultation"]), None),
    # 003 "Service delivery documentation requirements for providers" (length and staff location).
    "IHS-REMOTE-DOCS": (~remote | (c("minutes").is_not_null() & c("staff_location").is_in(["office", "community"])).fill_null(False), None),
    "IHS-REMOTE-RATIO": (~remote | (c("ratio") != "1:2").fill_null(True), None),
    # 003 "Authorization, rates and billing": in person or remotely as separate units (the catalog's delivery).
    "IHS-DELIVERY-CODE": (~c("is_ihs") | ~c("code_delivery").is_in(["in_person", "remote"]).fill_null(False)
                          | (c("delivery_mode") == c("code_delivery")), None),
    # 003: in person at 1:1 or 1:2 -- a 1:2 contact on a 1:1 code would be paid the 1:1 rate.
    "IHS-RATIO-CODE": (~(c("is_ihs") & (c("delivery_mode") == "in_person") & (c("ratio") == "1:2")
                         & (c("code_ratio") == "1:1")).fill_null(True), None),
    # 003 ratios; MHCP: time actually spent with the person (Clarification 16): only the minutes not admitted.
    "GEN-STAFF-OVERLAP": (c("staff_overlap_minutes") == 0, c("staff_overlap_minutes")),
    "GEN-PERSON-OVERLAP": (c("person_overlap_minutes") == 0, c("person_overlap_net")),
    # 003 "Services that cannot be delivered at the same time as IHS": only the overlapping minutes.
    "IHS-CONCURRENT": (c("overlap_minutes") == 0, c("overlap_net")),
    # 003 "Not covered within IHS" 2: supervision inside primary sleeping hours.
    "IHS-SLEEP": (c("sleep_minutes") == 0, c("sleep_net")),
    # 003 "Not covered within IHS" 4, 5 (revision 2): housing search; ADL support only where it is more than
    # half of the person's documented IHS minutes with the provider that day (IHS that primarily delivers ADLs).
    "IHS-NONCOVERED": (~(c("is_ihs") & ((c("activity") == "housing_search")
                                         | ((c("activity") == "adl_support") & c("adl_primary")))), None),
    # 001 "Targeted Case Management (TCM)" 1: flag Yes and a narration of the service.
    "TCM-FLAG": (~c("is_tcm") | ((c("tcm_flag") == "Y").fill_null(False) & c("has_narrative")), None),
    # 001: provided by a (TANF) case manager; staff not on the roster are GEN-STAFF (Clarification 15).
    "TCM-STAFF": (~(c("is_tcm") & on_roster_not_cm), None),
}
assert list(LOG_CHECKS) == LOG_ORDER, "log contracts must follow the spec's table order"


def contract() -> pa.DataFrameSchema:
    """One check per rule; a contact passes a rule not in force on its date of service."""
    return pa.DataFrameSchema(
        checks=[pa.Check(lambda d, e=passes(rid, ok): d.lazyframe.select(e), name=rid)
                for rid, (ok, _) in LOG_CHECKS.items()],
        name="service_log_contracts", strict=False,
        description="; ".join(f"{r}: {RULES[r].citation}" for r in LOG_ORDER),
    )


def failures(evidence: pl.DataFrame) -> pl.DataFrame:
    """(_idx, rule_id) for every contract a contact breaks."""
    empty = pl.DataFrame(schema={"_idx": pl.UInt32, "rule_id": pl.Utf8})
    if evidence.height == 0:
        return empty
    try:
        contract().validate(evidence, lazy=True)
        return empty
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
    return (fc.filter(pl.col("index").is_not_null())
            .select(pl.col("index").cast(pl.UInt32).alias("_idx"), pl.col("check").alias("rule_id")).unique())


def billability(evidence: pl.DataFrame) -> pl.DataFrame:
    """Billable minutes per contact. Minutes are taken rule by rule in table order: a contact-wide
    rule takes whatever is left, an interval rule takes its own minutes net of those an earlier interval
    rule claimed (each minute is removed once, by the first rule in table order that claims it). Returns evidence + billable_minutes, rule_ids, primary_rule_id and a
    `removed__<rule>` column per rule."""
    fails = failures(evidence)
    ev = evidence.with_row_index("_idx")
    flags = (fails.with_columns(pl.lit(True).alias("_f"))
             .pivot(on="rule_id", index="_idx", values="_f") if fails.height else pl.DataFrame(schema={"_idx": pl.UInt32}))
    ev = ev.join(flags, on="_idx", how="left")
    # One column per rule, each step reading the previous step's column: the expression stays linear
    # (a nested `remaining` expression would double in size with every rule).
    ev = ev.with_columns(pl.col("duration_minutes").cast(pl.Int64).alias("_left"))
    cols = []
    for rid in LOG_ORDER:
        failed = pl.col(rid).fill_null(False) if rid in ev.columns else pl.lit(False)
        _, part = LOG_CHECKS[rid]
        left = pl.col("_left")
        take = left if part is None else pl.min_horizontal(left, pl.max_horizontal(part.cast(pl.Int64), pl.lit(0)))
        take = pl.when(failed).then(take).otherwise(0)
        ev = ev.with_columns(take.alias(f"removed__{rid}")).with_columns((left - pl.col(f"removed__{rid}")).alias("_left"))
        cols.append((rid, failed))
    ev = ev.with_columns(
        (pl.col("duration_minutes") - pl.sum_horizontal([pl.col(f"removed__{r}") for r in LOG_ORDER])).alias("billable_minutes"),
        pl.concat_str([pl.when(f).then(pl.lit(r)) for r, f in cols], separator=" ", ignore_nulls=True)
          .fill_null("").alias("rule_ids"),
        pl.coalesce([pl.when(f).then(pl.lit(r)) for r, f in cols]).alias("primary_rule_id"),
    )
    drop = [r for r in LOG_ORDER if r in ev.columns] + ["_idx", "_left"]
    return ev.drop(drop)
