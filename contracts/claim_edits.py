"""Claim edits: the contract each claim line must meet to be paid.

The facts come from ``sql/claim_evidence.sql``; each Pandera check below is one rule, named by its
rule id, True where the line passes. ``failure_cases`` routes every failing line to the ledger with
the rule's catalog definition (message, CARC/RARC, citation). Precedence runs down this list, with
the service-log contracts where GEN-DOC-NONE stands (``contracts.rules.PRECEDENCE``).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from contracts.rules import LOG_ORDER, PRECEDENCE, RULES, Parameters, passes

c = pl.col
TRAINING_LICENSE = "245D_INTENSIVE"
WOT_LICENSES = ["245D_BASIC", "245D_INTENSIVE", "144A_HCBS", "SENIOR_COMPANION", "245D_EXCLUDED"]
FOSTER_LIKE = ["licensed_foster_family", "family_residential", "community_residential"]


def units_from_minutes(minutes: pl.Expr, daily: pl.Expr, p: Parameters) -> pl.Expr:
    """Documented units: 15-minute units rounded (remainder >= threshold adds one); a daily unit
    needs the daily minimum of billable minutes (rules.md "Documented units")."""
    m = minutes.cast(pl.Int64)
    quarter = m // 15 + pl.when(m % 15 >= p.round_up_remainder_minutes).then(1).otherwise(0)
    return pl.when(daily).then(pl.when(m >= p.day_unit_min_minutes).then(1).otherwise(0)).otherwise(quarter)


def prepare(ev: pl.DataFrame, p: Parameters) -> pl.DataFrame:
    """Derived facts the checks read: the first log contract that removed minutes, documented units."""
    removed = [f"removed__{r}" for r in LOG_ORDER]
    for col in removed:
        if col not in ev.columns:
            ev = ev.with_columns(pl.lit(0, dtype=pl.Int64).alias(col))
    first = pl.coalesce([pl.when(c(f"removed__{r}").fill_null(0) > 0).then(pl.lit(r)) for r in LOG_ORDER])
    return ev.with_columns(
        first.alias("first_log_rule"),
        units_from_minutes(c("raw_minutes"), c("is_daily"), p).alias("documented_units"),
        units_from_minutes(c("billable_minutes"), c("is_daily"), p).alias("billable_units"),
        ((c("n_contacts") > 0) & (c("billable_minutes") == 0)).alias("all_unbillable"),
    )


def checks(p: Parameters) -> dict[str, pl.Expr]:
    lic = c("licenses").str.split(" ")
    # (no contract took minutes, e.g. a 0-minute contact: none of them names the line; GEN-DOC-UNITS does)
    all_unbillable_by = lambda rid: ~(c("all_unbillable") & (c("first_log_rule") == rid).fill_null(False))  # noqa: E731
    out: dict[str, pl.Expr] = {
        "GEN-ELIGIBILITY": c("eligible"),
        "GEN-PROVIDER": c("provider_known") & c("provider_enrolled"),
        "GEN-TIMELY": c("within_filing_limit") | c("replacement_grace").fill_null(False),
        "GEN-DUPLICATE": c("duplicate_of").is_null(),
        "IHS-WAIVER": ~c("is_ihs") | c("ihs_waiver_ok"),
        "IHS-WT-ADULT": ~c("is_wt") | (c("age") >= 18).fill_null(True),
        "IHS-FT-FOSTER": ~c("is_ft") | ~c("living_arrangement").is_in(FOSTER_LIKE).fill_null(False),
        "IHS-LICENSE": (~(c("is_wt") | c("is_ft")) | lic.list.contains(TRAINING_LICENSE))
                       & (~c("is_wot") | lic.list.eval(pl.element().is_in(WOT_LICENSES)).list.any()),
        "IHS-RESIDENTIAL": ~c("residential_conflict"),
        "IHS-REMOTE-NO-INPERSON": ~c("is_ihs_remote") | c("has_inperson_sa"),
        "IHS-DAY-OVERLAP": ~c("day_overlap"),
        "CM-CONFLICT": ~(c("is_cm") | c("is_cma")) | c("other_service_sa").is_null(),
        "CM-AIDE-ONE-PROVIDER": ~c("is_cma") | (c("first_provider") == c("billing_provider_id")).fill_null(True),
        "TCM-AGE": ~c("is_tcm") | (c("age") >= 14).fill_null(True),
        "GEN-AUTH-NONE": c("sa_number").is_not_null(),
    }
    for rid in LOG_ORDER:  # a line whose matching contacts are all unbillable: the first contract that took minutes
        out[rid] = all_unbillable_by(rid)
    # 000: a CM line with no CM contact but a CMA contact for the person, provider and date.
    out["CM-AIDE-AS-CM"] = out["CM-AIDE-AS-CM"] & ~(c("is_cm") & (c("n_contacts") == 0) & c("has_cma_contact"))
    out["GEN-DOC-NONE"] = (c("n_contacts") > 0) | (c("is_cm") & c("has_cma_contact"))
    out["IHS-DAY-MIN"] = ~(c("is_daily") & (c("billable_minutes") > 0) & (c("billable_minutes") < p.day_unit_min_minutes))
    # A reduction, not a denial: units beyond the documented units (the engine attributes them).
    out["GEN-DOC-UNITS"] = c("billed_units") <= c("documented_units")
    return out


FULL_DENIAL = [r for r in PRECEDENCE if r not in ("GEN-DOC-UNITS", "GEN-AUTH-UNITS", "IHS-DAILY-CAP", "IHS-REMOTE-CAP", "GEN-PRICE")]


def contract(p: Parameters) -> pa.DataFrameSchema:
    """One check per rule, in precedence order. A line passes a rule not in force on its date of service."""
    cks = checks(p)
    ordered = [r for r in PRECEDENCE if r in cks]
    return pa.DataFrameSchema(
        checks=[pa.Check(lambda d, e=passes(r, cks[r]): d.lazyframe.select(e), name=r) for r in ordered],
        name="claim_edits", strict=False,
        description="; ".join(f"{r}: {RULES[r].citation}" for r in ordered),
    )


def failures(ev: pl.DataFrame, p: Parameters) -> pl.DataFrame:
    """(_idx, rule_id) for every rule a line fails."""
    empty = pl.DataFrame(schema={"_idx": pl.UInt32, "rule_id": pl.Utf8})
    if ev.height == 0:
        return empty
    try:
        contract(p).validate(ev, lazy=True)
        return empty
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
    return (fc.filter(pl.col("index").is_not_null())
            .select(pl.col("index").cast(pl.UInt32).alias("_idx"), pl.col("check").alias("rule_id")).unique())
