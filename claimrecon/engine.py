"""The judging engine: claim-edit failures -> reductions -> pricing -> outcomes and ledger.

Money is integer cents here (exact) and DECIMAL(12,2) in the warehouse; never binary floating point.

Order of work for each line judged this period (rules.md "How a claim line is judged"):
1. Full denials: every failing claim edit (and log contract, for lines whose contacts are all
   unbillable) is recorded; the first in precedence is primary and carries the money.
2. Reductions in order: log contracts (table order), GEN-DOC-UNITS, GEN-AUTH-UNITS, IHS-DAILY-CAP,
   IHS-REMOTE-CAP. Documentation is shared by the lines billing the same contacts, filled greedily in
   order of judgement (set-based). Authorization and caps compete between lines: groups whose demand
   fits their capacity cannot bind and are decided set-based; only lines touching a contended group go
   through an exact pass in order of judgement.
3. Pricing: paid = min(billed share of paid units, paid units x SA rate); the rest is CO-45.
"""

from __future__ import annotations

import json

import polars as pl

from contracts import claim_edits
from contracts.rules import LOG_ORDER, RANK, REDUCTION_ORDER, RULES, Parameters, auth_none_codes

c = pl.col
RED_COLS = [f"red__{r}" for r in REDUCTION_ORDER]


def in_force(rule_id: str) -> pl.Expr:
    """True where the reduction is in force on the line's date of service (the catalog's effective dates)."""
    return RULES[rule_id].in_force_on(c("service_date"))


def _round_share(billed: pl.Expr, units: pl.Expr, total_units: pl.Expr) -> pl.Expr:
    """round-half-up(billed * units / total_units) on non-negative integers."""
    return pl.when(total_units > 0).then((2 * billed * units + total_units) // (2 * total_units)).otherwise(0)


def judge(ev: pl.DataFrame, p: Parameters, hist_remote: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Judge the period's lines. Returns (outcomes, ledger) for the judged lines (row_type 'line')."""
    ev = claim_edits.prepare(ev, p)
    if not ev["ord"].is_sorted():  # the evidence query already returns lines in order of judgement
        ev = ev.sort("ord")
    fails = claim_edits.failures(ev, p)
    ev = ev.with_row_index("_idx")
    denial = (fails.filter(c("rule_id").is_in(claim_edits.FULL_DENIAL))
              .with_columns(c("rule_id").replace_strict(RANK, return_dtype=pl.Int64).alias("_rank")))
    agg = denial.group_by("_idx").agg(c("rule_id").sort_by("_rank").alias("denial_rules"))
    ev = ev.join(agg, on="_idx", how="left").with_columns(
        c("denial_rules").list.first().alias("denied_by"))
    ev = _documentation(ev, p)
    ev = _competition(ev, p, hist_remote)
    return _price(ev, p)


def _documentation(ev: pl.DataFrame, p: Parameters) -> pl.DataFrame:
    """Documented units shared by the lines of one match key, greedy in order; cascade attribution.

    Each step of the cascade is materialised as a column that the next step reads, so every
    expression stays small (nested expressions grow with the number of log contracts)."""
    live = c("denied_by").is_null()
    key = ["recipient_id", "billing_provider_id", "procedure_code", "modifiers", "service_date"]
    b = c("billed_units")
    ev = ev.with_columns(pl.when(live).then(b).otherwise(0).alias("_b_live"))
    # the frame is in order of judgement (ord), so a running sum per key is the units billed before
    ev = ev.with_columns((c("_b_live").cum_sum().over(key) - c("_b_live")).alias("_s_before"))
    final_units = c("billable_units")
    h = c("hist_doc_units")
    used = pl.when(h >= final_units).then(h).otherwise(pl.min_horizontal(h + c("_s_before"), final_units))
    ev = ev.with_columns(used.alias("_used"), c("raw_minutes").cast(pl.Int64).alias("_min"))

    def avail(minutes: pl.Expr) -> pl.Expr:  # units the minutes still support, less units used before
        return pl.max_horizontal(claim_edits.units_from_minutes(minutes, c("is_daily"), p) - c("_used"), pl.lit(0))

    # GEN-DOC-UNITS not in force on the date: units beyond the documented ones are not cut (log contracts still are)
    ev = ev.with_columns(avail(c("_min")).alias("_a0"))
    ev = ev.with_columns(pl.when(in_force("GEN-DOC-UNITS")).then(0).otherwise(pl.max_horizontal(b - c("_a0"), pl.lit(0)))
                         .alias("_unexplained"))
    # capped units standing after each log contract's minutes are removed: _cap0 before any, _capK after K
    ev = ev.with_columns(pl.min_horizontal(b, c("_a0") + c("_unexplained")).alias("_cap0"))
    for i, rid in enumerate(LOG_ORDER, start=1):
        ev = ev.with_columns((c("_min") - c(f"removed__{rid}").fill_null(0).cast(pl.Int64)).alias("_min"))
        ev = ev.with_columns(pl.min_horizontal(b, avail(c("_min")) + c("_unexplained")).alias(f"_cap{i}"))
    n = len(LOG_ORDER)
    exprs = [pl.when(live).then(b - c("_cap0")).otherwise(0).alias("red__GEN-DOC-UNITS")]
    for i, rid in enumerate(LOG_ORDER):
        exprs.append(pl.when(live).then(c(f"_cap{i}") - c(f"_cap{i + 1}")).otherwise(0).alias(f"red__{rid}"))
    exprs.append(pl.when(live).then(c(f"_cap{n}")).otherwise(0).alias("_u_doc"))
    exprs.append(pl.when(live).then(pl.max_horizontal(c("billable_units") - c("_used"), pl.lit(0))).alias("doc_units_available"))
    ev = ev.with_columns(exprs)
    return ev.drop("_min", "_a0", "_unexplained", *[f"_cap{i}" for i in range(n + 1)])


def _remote_year(ev: pl.DataFrame, p: Parameters) -> pl.DataFrame:
    """Agreement-year index of each line and the year's prorated remote cap plus exception units."""
    sd, st, en = c("service_date"), c("sa_start"), c("sa_end")
    def month_day(d: pl.Expr) -> pl.Expr:  # dt.month() is Int8: widen before multiplying
        return d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)

    k = (sd.dt.year() - st.dt.year()) - pl.when(month_day(sd) < month_day(st)).then(1).otherwise(0)
    ev = ev.with_columns(k.alias("remote_year"))
    ys = st.dt.offset_by(pl.format("{}y", c("remote_year")))
    ye = pl.min_horizontal(en, ys.dt.offset_by("1y").dt.offset_by("-1d"))
    days = (ye - ys).dt.total_days() + 1
    cap = (p.remote_cap_units * pl.min_horizontal(days, pl.lit(365))) // 365 + c("remote_exception_units")
    return ev.with_columns(cap.alias("remote_cap"), ys.alias("_ys"), ye.alias("_ye"))


def _competition(ev: pl.DataFrame, p: Parameters, hist_remote: pl.DataFrame) -> pl.DataFrame:
    ev = _remote_year(ev, p)
    u1 = c("_u_doc")
    live = c("denied_by").is_null() & (u1 > 0)
    eq = pl.when(c("is_daily")).then(p.daily_unit_equivalent).otherwise(1)
    # remote units already paid in the same agreement year
    if hist_remote.height:
        hr = (ev.filter(c("is_ihs_remote") & c("sa_number").is_not_null())
              .select("sa_number", "sa_line_no", "_ys", "_ye").unique()
              .join(hist_remote, on=["sa_number", "sa_line_no"])
              .filter((c("service_date") >= c("_ys")) & (c("service_date") <= c("_ye")))
              .group_by("sa_number", "sa_line_no", "_ys").agg(c("paid_units").sum().alias("hist_remote_units")))
        ev = ev.join(hr, on=["sa_number", "sa_line_no", "_ys"], how="left")
    else:
        ev = ev.with_columns(pl.lit(None, dtype=pl.Int64).alias("hist_remote_units"))
    ev = ev.with_columns(c("hist_remote_units").fill_null(0))
    ev = ev.with_columns(
        pl.when(live).then(u1).otherwise(0).alias("_d"),
        pl.when(live & c("is_ihs_in_person")).then(u1 * eq).otherwise(0).alias("_dday"),
    )
    auth_key = ["sa_number", "sa_line_no"]
    day_key = ["recipient_id", "service_date"]
    rem_key = ["sa_number", "sa_line_no", "remote_year"]
    ev = ev.with_columns(
        (in_force("GEN-AUTH-UNITS") & ((c("_d").sum().over(auth_key) + c("hist_auth_units")) > c("authorized_units")))
        .fill_null(False).alias("_bind_auth"),
        (in_force("IHS-DAILY-CAP") & ((c("_dday").sum().over(day_key) + c("hist_day_units")) > p.daily_cap_units)).alias("_bind_day"),
        (in_force("IHS-REMOTE-CAP") & c("is_ihs_remote") & ((c("_d").sum().over(rem_key) + c("hist_remote_units")) > c("remote_cap")))
        .fill_null(False).alias("_bind_rem"),
    )
    ev = ev.with_columns((live & (c("_bind_auth") | (c("_bind_day") & c("is_ihs_in_person")) | c("_bind_rem"))).alias("_contended"))
    red = {"GEN-AUTH-UNITS": {}, "IHS-DAILY-CAP": {}, "IHS-REMOTE-CAP": {}}
    extra: dict[int, dict] = {}
    contended = ev.filter(c("_contended")).sort("ord")
    if contended.height:
        rem_auth: dict = {}
        used_day: dict = {}
        rem_remote: dict = {}
        for r in contended.iter_rows(named=True):
            u = r["_u_doc"]
            i = r["_idx"]
            info = {}
            if r["_bind_auth"]:
                k = (r["sa_number"], r["sa_line_no"])
                left = rem_auth.setdefault(k, r["authorized_units"] - r["hist_auth_units"])
                take = min(u, max(0, left))
                info["remaining_units"] = max(0, left)
                red["GEN-AUTH-UNITS"][i] = u - take
                u = take
            e = p.daily_unit_equivalent if r["is_daily"] else 1
            if r["_bind_day"] and r["is_ihs_in_person"]:
                k = (r["recipient_id"], r["service_date"])
                used = used_day.setdefault(k, r["hist_day_units"])
                room = max(0, p.daily_cap_units - used)
                allowed = min(u, room // e)
                info["units_used_that_day"] = used
                red["IHS-DAILY-CAP"][i] = u - allowed
                u = allowed
            if r["_bind_rem"]:
                k = (r["sa_number"], r["sa_line_no"], r["remote_year"])
                left = rem_remote.setdefault(k, r["remote_cap"] - r["hist_remote_units"])
                allowed = min(u, max(0, left))
                info["remote_used"] = r["remote_cap"] - left
                red["IHS-REMOTE-CAP"][i] = u - allowed
                u = allowed
            if r["_bind_auth"]:
                rem_auth[(r["sa_number"], r["sa_line_no"])] -= u
            if r["_bind_day"] and r["is_ihs_in_person"]:
                used_day[(r["recipient_id"], r["service_date"])] += u * e
            if r["_bind_rem"]:
                rem_remote[(r["sa_number"], r["sa_line_no"], r["remote_year"])] -= u
            extra[i] = info
    for rid, m in red.items():
        s = pl.DataFrame({"_idx": list(m), f"red__{rid}": list(m.values())}, schema={"_idx": pl.UInt32, f"red__{rid}": pl.Int64})
        ev = ev.join(s, on="_idx", how="left").with_columns(c(f"red__{rid}").fill_null(0))
    info = pl.DataFrame({"_idx": list(extra), "_competition": [json.dumps(v, default=str) for v in extra.values()]},
                        schema={"_idx": pl.UInt32, "_competition": pl.Utf8})
    ev = ev.join(info, on="_idx", how="left")
    return ev


def _price(ev: pl.DataFrame, p: Parameters) -> tuple[pl.DataFrame, pl.DataFrame]:
    B = c("billed_units")
    billed = c("billed_cents")
    denied = c("denied_by").is_not_null()
    # remaining units after each reduction, and the billed share still standing after it
    # (materialised step by step: `_rem` is read back, so no expression nests the ones before it)
    ev = ev.with_columns(B.alias("_rem"))
    shares = []
    for i, rid in enumerate(REDUCTION_ORDER):
        ev = ev.with_columns((c("_rem") - c(f"red__{rid}")).alias("_rem"))
        ev = ev.with_columns(_round_share(billed, c("_rem"), B).alias(f"_share{i}"))
        shares.append(c(f"_share{i}"))
    paid_units = pl.when(denied).then(0).otherwise(c("_rem"))
    ev = ev.with_columns(paid_units.alias("paid_units"))
    share = pl.when(denied).then(0).otherwise(shares[-1])
    rate_cap = pl.when(in_force("GEN-PRICE")).then(c("paid_units") * c("rate_cents").fill_null(0)).otherwise(share)
    ev = ev.with_columns(pl.min_horizontal(share, rate_cap).alias("paid_cents"), share.alias("_share"))
    ev = ev.with_columns((c("_share") - c("paid_cents")).alias("price_cents"))
    amount_exprs = []
    prev = billed
    for rid, s in zip(REDUCTION_ORDER, shares):
        amount_exprs.append(pl.when(denied).then(0).otherwise(prev - s).alias(f"amt__{rid}"))
        prev = s
    ev = ev.with_columns(amount_exprs)
    first_red = pl.coalesce([pl.when(c(f"red__{r}") > 0).then(pl.lit(r)) for r in REDUCTION_ORDER])
    ev = ev.with_columns(
        pl.when(denied).then(c("denied_by")).when(c("paid_units") < B).then(first_red).otherwise(None).alias("primary_rule_id"),
        pl.when(denied | (c("paid_units") == 0)).then(pl.lit("denied"))
          .when(c("paid_units") < B).then(pl.lit("partial")).otherwise(pl.lit("paid")).alias("outcome"),
    )
    ev = ev.with_columns((billed - c("paid_cents")).alias("adjusted_cents"))
    outcomes = ev.select(
        pl.lit("line").alias("row_type"), "icn", "line_no", "adjustment_ind", "outcome",
        c("billed_units"), c("billed_cents"), c("paid_units"), c("paid_cents"), c("adjusted_cents"),
        "primary_rule_id", "sa_number", "sa_line_no", "recipient_id", "billing_provider_id", "procedure_code",
        "modifiers", "service_key", "service_date", "received_date", "waiver_program",
        pl.lit(None, dtype=pl.Utf8).alias("reverses_icn"), pl.lit(None, dtype=pl.Utf8).alias("reverses_period"),
        "source_file", "source_row")
    return outcomes, _ledger(ev)


def _evidence(ev: pl.DataFrame) -> pl.DataFrame:
    """A compact JSON of the facts behind a line's adjustments (no recipient ids, no narratives)."""
    cols = {
        "documented_units": c("documented_units"), "billable_units": c("billable_units"),
        "raw_minutes": c("raw_minutes"), "billable_minutes": c("billable_minutes"), "log_ids": c("log_ids"),
        "sa_number": c("sa_number"), "sa_line_no": c("sa_line_no"), "unit_rate": (c("rate_cents") / 100).cast(pl.Utf8),
        "authorized_units": c("authorized_units"), "duplicate_of": c("duplicate_of"),
        "waiver_program": c("waiver_program"), "age": c("age"), "living_arrangement": c("living_arrangement"),
        "licenses": c("licenses"), "residential_sa": c("residential_sa"), "other_service_sa": c("other_service_sa"),
        "first_provider": c("first_provider"), "filing_limit": c("filing_limit").cast(pl.Utf8),
        "auth_variant": c("auth_variant"), "remote_cap": c("remote_cap"), "competition": c("_competition"),
        # revision 2 (GEN-INPATIENT, CM-AGENCY); the date of death is PHI and stays out of the evidence
        "facility_stay": c("facility_stay"), "case_management_agency": c("case_management_agency"),
    }
    return ev.select("_idx", pl.struct(**cols).struct.json_encode().alias("evidence"))


def _ledger(ev: pl.DataFrame) -> pl.DataFrame:
    """Ledger rows of the lines with adjustments. Only those lines are copied out of the wide frame
    (almost every line is paid in full), and only they get an evidence JSON."""
    red_cols = [f"red__{r}" for r in REDUCTION_ORDER]
    touched = c("denied_by").is_not_null() | pl.any_horizontal([c(k) > 0 for k in red_cols]) | (c("price_cents") > 0)
    ev = ev.filter(touched)
    ev_json = _evidence(ev)
    base = ["_idx", "icn", "line_no", "billed_units", "billed_cents", "auth_variant", "source_file", "source_row"]
    parts = []
    # full denials: primary carries all units and money; every other failing rule is recorded at zero
    d = ev.filter(c("denied_by").is_not_null()).select(*base, "denial_rules").explode("denial_rules")
    if d.height:
        d = d.with_columns(c("denial_rules").alias("rule_id"))
        d = d.with_columns((pl.int_range(pl.len()).over("_idx") == 0).alias("is_primary"))
        d = d.with_columns(pl.when(c("is_primary")).then(c("billed_units")).otherwise(0).alias("units"),
                           pl.when(c("is_primary")).then(c("billed_cents")).otherwise(0).alias("cents"))
        parts.append(d.select("_idx", "icn", "line_no", "rule_id", "units", "cents", "is_primary", "auth_variant", "source_file", "source_row"))
    # reductions and pricing on lines not fully denied
    live = ev.filter(c("denied_by").is_null())
    if live.height:
        red = []
        for i, rid in enumerate(REDUCTION_ORDER):
            red.append(live.filter(c(f"red__{rid}") > 0).select(
                "_idx", "icn", "line_no", pl.lit(rid).alias("rule_id"), c(f"red__{rid}").alias("units"),
                c(f"amt__{rid}").alias("cents"), pl.lit(i).alias("_o"), "auth_variant", "source_file", "source_row"))
        red.append(live.filter(c("price_cents") > 0).select(
            "_idx", "icn", "line_no", pl.lit("GEN-PRICE").alias("rule_id"), pl.lit(0, dtype=pl.Int64).alias("units"),
            c("price_cents").alias("cents"), pl.lit(99).alias("_o"), "auth_variant", "source_file", "source_row"))
        r = pl.concat(red).sort("_idx", "_o")
        r = r.with_columns(((pl.int_range(pl.len()).over("_idx") == 0) & (c("rule_id") != "GEN-PRICE")).alias("is_primary"))
        parts.append(r.select("_idx", "icn", "line_no", "rule_id", "units", "cents", "is_primary", "auth_variant", "source_file", "source_row"))
    if not parts:
        return empty_ledger()
    led = pl.concat(parts).join(ev_json, on="_idx", how="left")
    return attach_catalog(led.with_columns(pl.lit("line").alias("row_type"))).sort("_idx", c("is_primary").not_(), "rule_id").drop("_idx")


def attach_catalog(led: pl.DataFrame) -> pl.DataFrame:
    """Message, group, CARC/RARC and citation from the one rule catalog (GEN-AUTH-NONE by variant)."""
    cat = pl.DataFrame({
        "rule_id": list(RULES), "group_code": [r.group_code for r in RULES.values()],
        "carc": [r.carc for r in RULES.values()], "rarc": [r.rarc for r in RULES.values()],
        "message": [r.message for r in RULES.values()], "citation": [r.citation for r in RULES.values()]})
    led = led.join(cat, on="rule_id", how="left")
    if "auth_variant" in led.columns:
        for variant in ("other_service", "other_provider", "none"):
            g, carc, rarc = auth_none_codes(variant)
            hit = (c("rule_id") == "GEN-AUTH-NONE") & (c("auth_variant") == variant)
            led = led.with_columns(pl.when(hit).then(pl.lit(carc)).otherwise(c("carc")).alias("carc"),
                                   pl.when(hit).then(pl.lit(rarc)).otherwise(c("rarc")).alias("rarc"))
        led = led.drop("auth_variant")
    return led


def empty_ledger() -> pl.DataFrame:
    return pl.DataFrame(schema={"icn": pl.Utf8, "line_no": pl.Int32, "rule_id": pl.Utf8, "units": pl.Int64,
                                "cents": pl.Int64, "is_primary": pl.Boolean, "evidence": pl.Utf8, "row_type": pl.Utf8,
                                "group_code": pl.Utf8, "carc": pl.Utf8, "rarc": pl.Utf8, "message": pl.Utf8,
                                "citation": pl.Utf8, "source_file": pl.Utf8, "source_row": pl.Int64})
