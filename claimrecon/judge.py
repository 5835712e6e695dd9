"""The period's judgement over the staging warehouse: log billability, claim outcomes, ledger,
reversals, findings and the balance proof. Each function is one Dagster asset's body."""

from __future__ import annotations

import datetime as dt
import json
import os

import duckdb

from claimrecon.db import run_script
from claimrecon.paths import SQL_DIR
import polars as pl

from claimrecon import engine, progress
from claimrecon.errors import BalanceError, ClaimreconError
from contracts import clock, service_logs
from contracts.rules import LOG_ORDER, RULES, Parameters


def snapshot_periods(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, str]:
    """Full snapshots supersede earlier ones: the latest snapshot known at this period, per kind."""
    out = {}
    for key, table in (("sa_period", "sa_lines"), ("recipients_period", "recipients"),
                       ("providers_period", "providers"), ("staff_period", "staff")):
        out[key] = con.execute(f"SELECT coalesce(max(period), '0000-00') FROM {table} WHERE period <= ?", [period]).fetchone()[0]
    # facility_stays (optional, revision 2): the latest drop that delivered the file, even one with no rows
    # (an empty snapshot means no one is an inpatient); a month without the file keeps the previous snapshot.
    out["stays_period"] = con.execute(
        "SELECT coalesce(max(period), '0000-00') FROM input_files WHERE kind = 'facility_stays' AND status = 'loaded' "
        "AND period <= ?", [period]).fetchone()[0]
    return out


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


#: Lines (or contacts) judged at once. A month is judged one bucket of people at a time, the people
#: whose hash(recipient_id) % buckets = bucket: every rule reads one person's lines, agreements,
#: contacts and history (caps and units are per person or per agreement line, which belongs to one
#: person), so buckets are independent and the result does not depend on how many there are. What it
#: bounds is memory: a state's month (3 M lines) in 8 buckets instead of one 16 GB pass.
BUCKET_ROWS = int(os.environ.get("CLAIMRECON_BUCKET_ROWS", "400000"))


def bucket_count(con: duckdb.DuckDBPyConnection, period: str) -> int:
    """Buckets for the period: the same for the log and claim steps (log_rule_minutes carries them)."""
    n = con.execute("SELECT greatest((SELECT count(*) FROM claims WHERE period = $p), "
                    "(SELECT count(*) FROM contacts WHERE period = $p))", {"p": period}).fetchone()[0]
    return max(1, -(-n // max(1, BUCKET_ROWS)))


def log_billability(con: duckdb.DuckDBPyConnection, period: str, p: Parameters) -> dict:
    snaps = snapshot_periods(con, period)
    params = {"period": period, "staff_period": snaps["staff_period"], "recipients_period": snaps["recipients_period"],
              "providers_period": snaps["providers_period"], "sleep_start": _minutes(p.default_sleep_start),
              "sleep_end": _minutes(p.default_sleep_end)}
    run_script(con, "service_groups.sql", {"period": period})
    con.execute("DELETE FROM log_billability WHERE period = ?", [period])
    buckets = bucket_count(con, period)
    current_contacts(con, period, buckets)
    # GEN-STAFF-OVERLAP crosses people, hence buckets: the lost minutes of every contact judged this period are
    # computed once, over all current contacts, and each bucket joins its own rows (ov_lost)
    run_script(con, "contact_overlaps.sql", {"period": period})
    contacts = unbillable = 0
    for b in range(buckets):
        work = _billability(run_script(con, "contact_evidence.sql", {**params, "bucket": b, "buckets": buckets},
                                       frame_of="contact_evidence"))
        con.register("_lb", work.to_arrow(compat_level=pl.CompatLevel.newest()))
        # the claim step's work table: what documentation per match key needs, not the contact's verdict text
        work_cols = "* EXCLUDE (rule_ids, primary_rule_id, removed_minutes_json, staff_id, service_key)"
        if b == 0:
            con.execute(f"CREATE OR REPLACE TABLE log_rule_minutes AS SELECT {work_cols}, ? AS _bucket, ? AS _buckets "
                        "FROM _lb", [b, buckets])
        else:
            con.execute(f"INSERT INTO log_rule_minutes SELECT {work_cols}, ?, ? FROM _lb", [b, buckets])
        con.execute("""INSERT INTO log_billability SELECT ?, log_id, provider_id, recipient_id, service_date, service_key,
                       duration_minutes, billable_minutes, rule_ids, primary_rule_id, removed_minutes_json
                       FROM _lb""", [period])  # already in (provider_id, log_id) order: contact_evidence.sql
        con.unregister("_lb")
        contacts += work.height
        unbillable += int((work["billable_minutes"] < work["duration_minutes"]).sum()) if work.height else 0
        del work
        progress.count(b + 1, buckets, "buckets of people")
    return {"contacts": contacts, "unbillable": unbillable}


def current_contacts(con: duckdb.DuckDBPyConnection, period: str, buckets: int) -> None:
    """cur_contacts (sql/current_contacts.sql): the latest version of each contact known at the period, with its
    real instants, tagged by bucket of people; and tz_days/local_utc, which it needs."""
    _register_tz_days(con, period)
    run_script(con, "latest_contacts.sql")
    run_script(con, "current_contacts.sql", {"period": period, "buckets": buckets})


def _register_tz_days(con: duckdb.DuckDBPyConnection, period: str) -> None:
    """tz_days: the America/Chicago offsets (contracts/clock.py, Clarification 1) of every date a contact known
    at this period, or its sleeping-hours windows, can touch; local_utc(date, minute, off0, change, off1): the
    real instant (naive UTC) of a clock time on a date, for the SQL that reads clock times."""
    lo, hi = con.execute("SELECT min(service_date), max(service_date) FROM contacts WHERE period <= ?",
                         [period]).fetchall()[0]
    dates = [] if lo is None else [lo + dt.timedelta(days=k) for k in range(-2, (hi - lo).days + 3)]
    con.register("_tz", clock.day_offsets(dates).to_arrow())
    con.execute("CREATE OR REPLACE TEMP TABLE tz_days AS SELECT * FROM _tz")
    con.unregister("_tz")
    con.execute("""CREATE OR REPLACE TEMP MACRO local_utc(d, m, off0, change, off1) AS
                   CAST(d AS TIMESTAMP) + to_minutes(m - CASE WHEN m < change THEN off0 ELSE off1 END)""")


_NOTHING_REMOVED = json.dumps(dict.fromkeys(LOG_ORDER, 0), separators=(",", ":"))  # as Polars' json_encode writes it


def _billability(ev: pl.DataFrame) -> pl.DataFrame:
    """One bucket's contacts through the service-log contracts: the log_rule_minutes work rows."""
    bill = service_logs.billability(ev) if ev.height else ev.with_columns(
        pl.lit(0).alias("billable_minutes"), pl.lit("").alias("rule_ids"), pl.lit(None, dtype=pl.Utf8).alias("primary_rule_id"),
        *[pl.lit(0).alias(f"removed__{r}") for r in LOG_ORDER])
    removed = [f"removed__{r}" for r in LOG_ORDER]
    # removed_minutes_json: almost every contact loses nothing, and they share one text; the others are encoded
    encode = pl.struct([pl.col(f"removed__{r}").alias(r) for r in LOG_ORDER]).struct.json_encode()
    js = pl.repeat(_NOTHING_REMOVED, bill.height, dtype=pl.Utf8, eager=True).alias("removed_minutes_json")
    lost = bill.select(pl.arg_where(pl.any_horizontal([pl.col(k) != 0 for k in removed]))).to_series()
    if len(lost):
        js = js.scatter(lost, bill[lost].select(encode).to_series())
    bill = bill.with_columns(js)
    keep = ["provider_id", "log_id", "recipient_id", "staff_id", "service_key", "procedure_code", "modifiers", "service_date",
            "duration_minutes", "billable_minutes", "rule_ids", "primary_rule_id", "staff_location", "is_cma",
            "removed_minutes_json"] + removed
    return bill.select(keep)


OUTCOME_INSERT = """INSERT INTO claim_outcomes SELECT $period, icn, line_no, row_type, adjustment_ind, outcome,
    CAST(billed_units AS DECIMAL(12,2)), CAST(CAST(billed_cents AS DECIMAL(18,0)) * 0.01 AS DECIMAL(12,2)),
    CAST(paid_units AS DECIMAL(12,2)), CAST(CAST(paid_cents AS DECIMAL(18,0)) * 0.01 AS DECIMAL(12,2)),
    CAST(CAST(adjusted_cents AS DECIMAL(18,0)) * 0.01 AS DECIMAL(12,2)), primary_rule_id, sa_number, sa_line_no,
    recipient_id, billing_provider_id, procedure_code, modifiers, service_key, service_date, received_date,
    waiver_program, reverses_icn, reverses_period, source_file, source_row FROM _out ORDER BY icn, line_no"""

LEDGER_INSERT = """INSERT INTO denial_ledger SELECT $period, icn, line_no, row_type, rule_id, group_code, carc, rarc,
    CAST(units AS DECIMAL(12,2)), CAST(CAST(cents AS DECIMAL(18,0)) * 0.01 AS DECIMAL(12,2)), is_primary, message,
    citation, evidence, source_file, source_row FROM _led"""


def claim_outcomes(con: duckdb.DuckDBPyConnection, period: str, p: Parameters) -> dict:
    snaps = snapshot_periods(con, period)
    run_script(con, "service_groups.sql", {"period": period})
    params = {"period": period, **{k: v for k, v in snaps.items() if k != "staff_period"},
              "timely_months": p.timely_filing_months, "grace_months": p.replacement_grace_months,
              "daily_equiv": p.daily_unit_equivalent, "remote_cap": p.remote_cap_units}
    for table in ("claim_outcomes", "denial_ledger"):
        con.execute(f"DELETE FROM {table} WHERE period = ?", [period])
    # the buckets the log step tagged its work rows with (documentation is read by bucket)
    used = con.execute("SELECT min(_buckets), max(_buckets) FROM log_rule_minutes").fetchone()
    if used[0] != used[1]:
        raise ClaimreconError("log_rule_minutes mixes bucket counts: re-run log_billability for the period")
    buckets = used[0] if used[0] is not None else bucket_count(con, period)
    run_script(con, "claim_evidence_prep.sql", {**params, "buckets": buckets})
    for b in _buckets_to_judge(con, period, buckets, p):
        ev = run_script(con, "claim_evidence.sql", {**params, "bucket": b, "buckets": buckets}, frame_of="claim_evidence")
        progress.count(b + 1, buckets, "buckets of people")
        if not ev.height:
            continue
        outcomes, ledger = engine.judge(ev, p, con.sql("SELECT * FROM hist_lines").pl(),
                                        con.sql("SELECT icn, original_icn, received_date FROM adj_events").pl(),
                                        log_ids=_log_ids_lookup(con, b))
        del ev
        con.register("_out", outcomes.to_arrow(compat_level=pl.CompatLevel.newest()))
        con.execute(OUTCOME_INSERT, {"period": period})
        con.unregister("_out")
        if ledger.height:
            con.register("_led", ledger.to_arrow())
            con.execute(LEDGER_INSERT + " ORDER BY icn, line_no, NOT is_primary, rule_id", {"period": period})
            con.unregister("_led")
        del outcomes, ledger
    run_script(con, "reversals_and_rejects.sql", {"period": period})
    return period_totals(con, period)


def _log_ids_lookup(con, bucket: int):
    """The evidence's log_ids for the ledger's lines only (claimrecon.engine): the documenting contacts of each match
    key, from the log step's work rows of the bucket (sql/claim_evidence.sql's docs leaves them out: an ordered
    string aggregate over every key cost more than the rest of docs)."""
    def lookup(keys: pl.DataFrame) -> pl.DataFrame:
        con.register("_keys", keys.to_arrow())
        try:
            return con.sql("""
                SELECT k.recipient_id, k.billing_provider_id, k.procedure_code, k.modifiers, k.service_date,
                       string_agg(l.log_id, ' ' ORDER BY l.log_id) AS log_ids
                FROM _keys k JOIN log_rule_minutes l ON l._bucket = $bucket AND l.recipient_id = k.recipient_id
                     AND l.provider_id = k.billing_provider_id AND l.procedure_code = k.procedure_code
                     AND l.modifiers = k.modifiers AND l.service_date = k.service_date
                GROUP BY ALL""", params={"bucket": bucket}).pl()
        finally:
            con.unregister("_keys")
    return lookup


def _buckets_to_judge(con, period: str, buckets: int, p: Parameters):
    """Every bucket once, then again each bucket holding a replacement whose timely-filing grace turns on an
    original judged earlier in this same run and paid (rules.md Clarification 7), until none is left. A
    replacement comes after its original in order of judgement, so judging its bucket again with the grace
    known changes nothing before it; a chain of same-period replacements takes one more round per link."""
    todo = list(range(buckets))
    while todo:
        yield from todo
        todo = _same_period_grace(con, period, buckets, p)


def _same_period_grace(con, period: str, buckets: int, p: Parameters) -> list[int]:
    """Clarification 7 for originals judged in this run: record those now known paid whose replacement is late
    without the grace, and clear the judged rows of the replacements' buckets. Returns those buckets."""
    params = {"p": period, "buckets": buckets, "timely": p.timely_filing_months}
    found = con.execute("""
        SELECT DISTINCT a.original_icn, hash(k.recipient_id) % $buckets AS bucket
        FROM adj_this a JOIN claims k ON k.period = $p AND k.icn = a.icn
        WHERE a.adjustment_ind = '4' AND a.original_this_period
          AND a.original_icn NOT IN (SELECT icn FROM grace_paid_originals)
          AND k.received_date > k.service_date + to_months($timely)
          AND (SELECT sum(o.paid_units) FROM claim_outcomes o WHERE o.period = $p AND o.icn = a.original_icn
               AND o.row_type = 'line') > 0""", params).fetchall()
    if not found:
        return []
    redo = sorted({b for _, b in found})
    con.executemany("INSERT INTO grace_paid_originals VALUES (?)", [[icn] for icn in sorted({i for i, _ in found})])
    redo_rows = ("FROM claim_outcomes o WHERE o.period = $p AND o.row_type = 'line' "
                 "AND list_contains($redo, hash(o.recipient_id) % $buckets)")
    con.execute(f"""DELETE FROM denial_ledger l WHERE l.period = $p AND EXISTS (SELECT 1 {redo_rows}
                    AND o.source_file = l.source_file AND o.source_row = l.source_row)""",
                {"p": period, "buckets": buckets, "redo": redo})
    con.execute(f"DELETE {redo_rows}", {"p": period, "buckets": buckets, "redo": redo})
    return redo


def period_totals(con, period: str) -> dict:
    row = con.execute("""SELECT count(*) FILTER (row_type = 'line'),
        count(*) FILTER (outcome = 'paid'), count(*) FILTER (outcome = 'partial'), count(*) FILTER (outcome = 'denied'),
        count(*) FILTER (outcome = 'rejected'), count(*) FILTER (outcome IN ('voided', 'replaced')),
        coalesce(sum(billed_amount), 0), coalesce(sum(paid_amount), 0), coalesce(sum(adjusted_amount), 0),
        coalesce(sum(billed_amount) FILTER (outcome = 'rejected'), 0)
        FROM claim_outcomes WHERE period = ?""", [period]).fetchone()
    keys = ["claim_lines", "paid_lines", "partial_lines", "denied_lines", "rejected_lines", "reversal_rows",
            "billed_amount", "paid_amount", "adjusted_amount", "rejected_amount"]
    return dict(zip(keys, row))


def balance_problems(con, period: str) -> list[str]:
    """Every way the period could fail to balance. Empty when billed = paid + adjustments holds per line
    (dollars and units), outcome amounts agree with the ledger, and each claim line appears once."""
    problems = []
    n = con.execute("""WITH l AS (SELECT source_file, source_row, row_type, sum(amount) a, sum(units) u FROM denial_ledger
                                 WHERE period = $p GROUP BY ALL)
        SELECT count(*) FROM claim_outcomes o LEFT JOIN l USING (source_file, source_row, row_type)
        WHERE o.period = $p AND (o.billed_amount <> o.paid_amount + coalesce(l.a, 0)
              OR o.adjusted_amount <> coalesce(l.a, 0) OR o.billed_units <> o.paid_units + coalesce(l.u, 0))""",
                    {"p": period}).fetchone()[0]
    if n:
        problems.append(f"{n} claim line(s) where billed != paid + adjustments")
    n = con.execute("""SELECT count(*) FROM denial_ledger l WHERE period = $p AND NOT EXISTS (
        SELECT 1 FROM claim_outcomes o WHERE o.period = $p AND o.source_file = l.source_file
        AND o.source_row = l.source_row AND o.row_type = l.row_type)""", {"p": period}).fetchone()[0]
    if n:
        problems.append(f"{n} ledger row(s) with no claim line")
    n = con.execute("""SELECT count(*) FROM (SELECT source_file, source_row FROM claim_outcomes
        WHERE period = $p AND row_type = 'line' GROUP BY ALL HAVING count(*) > 1)""", {"p": period}).fetchone()[0]
    if n:
        problems.append(f"{n} claim line(s) judged more than once")
    n = con.execute("""SELECT (SELECT count(*) FROM claim_outcomes WHERE period = $p AND row_type = 'line')
        - (SELECT coalesce(sum(detail_lines), 0) FROM input_files WHERE period = $p AND kind = 'claims' AND status = 'loaded')""",
                    {"p": period}).fetchone()[0]
    if n:
        problems.append(f"claim lines in claim_outcomes differ from the claims files' detail lines by {n}")
    n = con.execute("""SELECT count(*) FROM claim_outcomes WHERE period = $p AND (paid_amount < 0 AND outcome NOT IN ('voided','replaced')
        OR paid_units > billed_units AND outcome NOT IN ('voided','replaced','rejected'))""", {"p": period}).fetchone()[0]
    if n:
        problems.append(f"{n} line(s) paid more than billed")
    return problems


def assert_balanced(con, period: str) -> None:
    problems = balance_problems(con, period)
    if problems:
        raise BalanceError(f"period {period} does not balance: " + "; ".join(problems))


def write_rule_catalog(con) -> None:
    from contracts.rules import PRECEDENCE, catalog_version
    version = catalog_version()
    rank = {r: i for i, r in enumerate(PRECEDENCE)}
    df = pl.DataFrame([{
        "rule_id": r.id, "kind": r.kind, "precedence": rank.get(r.id), "message": r.message, "group_code": r.group_code,
        "carc": r.carc, "rarc": r.rarc, "citation": r.citation, "effective_from": r.effective_from,
        "effective_to": r.effective_to, "catalog_version": version} for r in RULES.values()],
        schema_overrides={"precedence": pl.Int32, "effective_to": pl.Date})
    con.execute("DELETE FROM rules")
    con.register("_rules", df.to_arrow())
    con.execute("INSERT INTO rules SELECT * FROM _rules")
    con.unregister("_rules")


def create_views(con) -> None:
    """The analyst views of sql/views/ (reconciliation_summary, authorization_utilization, ...)."""
    for view in sorted((SQL_DIR / "views").glob("*.sql")):
        run_script(con, str(view.relative_to(SQL_DIR)))
