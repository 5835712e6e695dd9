"""The monthly claim run as Dagster assets, partitioned by the month claims were received.

inbox_files -> six extracts -> log_billability -> claim_outcomes (+ denial_ledger, payable_claims,
blocking balance checks) -> findings -> reports (+ GX control checks) -> published_warehouse

Everything is written to the run's private staging copy of the warehouse; only
`published_warehouse` replaces the file readers see (atomically), so a refused, failed or
killed run leaves the last good warehouse exactly as it was.
"""


import datetime as dt
import json
import os
import time
from pathlib import Path

import dagster as dg
import polars as pl

from claimrecon import catalog, controls, ingest, judge, x12
from claimrecon import reports as reports_mod
from claimrecon.db import run_script
from claimrecon.errors import RunRefused
from claimrecon.paths import PROCEDURE_CODES
from claimrecon.progress import step
from contracts.rules import catalog_version
from pipelines.resources import InboxResource, RuleParametersResource, WarehouseResource

# Partition keys are the periods the CLI and the warehouse speak of (YYYY-MM); months (and the schedule that runs the
# previous one) follow the agency's clock, not UTC.
AGENCY_TIMEZONE = os.environ.get("CLAIMRECON_TIMEZONE", "America/Chicago")
MONTHLY = dg.MonthlyPartitionsDefinition(start_date="2024-01", fmt="%Y-%m", timezone=AGENCY_TIMEZONE)
GROUP_INGEST, GROUP_JUDGE, GROUP_PUBLISH = "ingest", "judge", "publish"


def _period(context) -> str:
    """The monthly partition key is the period, YYYY-MM."""
    return context.partition_key


def _record_step(con, context: dg.AssetExecutionContext, name: str, seconds: float, rows: int) -> None:
    con.execute("INSERT INTO run_steps VALUES (?, ?, ?, ?, ?)", [context.run_id, _period(context), name, seconds, rows])


PREVIEW = {  # columns shown in the Dagster UI preview: never recipient ids, birth dates or narratives
    "claim_outcomes": "icn, line_no, row_type, outcome, billed_units, billed_amount, paid_units, paid_amount, primary_rule_id",
    "denial_ledger": "icn, line_no, rule_id, group_code, carc, rarc, units, amount, is_primary",
    "payable_claims": "icn, line_no, billing_provider_id, procedure_code, service_date, paid_units, paid_amount",
    "findings": "rule_id, provider_id, staff_id, sa_number, subject_date, message",
    "log_billability": "log_id, provider_id, service_key, duration_minutes, billable_minutes, rule_ids",
}


def table_metadata(con, table: str, period: str) -> dict:
    """Row count, column schema and a markdown preview (PHI-free columns) of one output for the UI."""
    rows = con.execute(f"SELECT count(*) FROM {table} WHERE period = ?", [period]).fetchone()[0]
    cols = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                       "ORDER BY ordinal_position", [table]).fetchall()
    md = {"dagster/row_count": dg.MetadataValue.int(rows),
          "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in cols])}
    if table in PREVIEW:
        df = con.sql(f"SELECT {PREVIEW[table]} FROM {table} WHERE period = $p ORDER BY ALL LIMIT 5",
                     params={"p": period}).pl()
        head = "| " + " | ".join(df.columns) + " |\n|" + " --- |" * df.width + "\n"
        body = "".join("| " + " | ".join("" if v is None else str(v) for v in r) + " |\n" for r in df.iter_rows())
        md["preview"] = dg.MetadataValue.md(head + body)
    return md


def _period_bounds(period: str) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(period + "-01")
    nxt = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, nxt - dt.timedelta(days=1)


@dg.asset(partitions_def=MONTHLY, group_name=GROUP_INGEST,
          description="Registers the month's inbox files (SHA-256, duplicate files), the procedure catalog and the "
                      "rule catalog in a fresh staging copy of the warehouse.")
def inbox_files(context: dg.AssetExecutionContext, warehouse: WarehouseResource, inbox: InboxResource) -> dg.MaterializeResult:
    period = _period(context)
    root = ingest.period_dir(inbox.path, period)
    if not root.is_dir():
        raise RunRefused(f"the inbox has no folder for {period} ({root})")
    with step("inbox_files") as info:
        t0 = time.perf_counter()
        wh = warehouse.warehouse
        wh.begin(period)
        files = ingest.discover(inbox.path, period)
        with wh.connect(period) as con:
            ingest.clear_period(con, period)
            con.execute("DELETE FROM run_steps WHERE period = ?", [period])
            ingest.load_procedure_codes(con, period, PROCEDURE_CODES)
            judge.write_rule_catalog(con)
            judge.create_views(con)
            plan = ingest.register_files(con, inbox.path, period, files)
            con.execute("CREATE OR REPLACE TABLE run_plan AS SELECT * FROM (VALUES ('', '', '', '')) t(source_file, kind, sha, status) WHERE false")
            # one INSERT, not one per file (a statement each costs ~3 ms: 1,515 files of a state's month)
            rows = pl.DataFrame([[name, *v] for name, v in sorted(plan.items())], orient="row",
                                schema={"source_file": pl.Utf8, "kind": pl.Utf8, "sha": pl.Utf8, "status": pl.Utf8})
            con.register("_plan", rows.to_arrow())
            con.execute("INSERT INTO run_plan SELECT * FROM _plan")
            con.unregister("_plan")
            info["detail"] = f"{len(plan)} files"
        with wh.connect(period) as con:
            _record_step(con, context, "inbox_files", time.perf_counter() - t0, len(plan))
    dups = sum(1 for v in plan.values() if v[2] == "duplicate")
    return dg.MaterializeResult(metadata={"files": len(plan), "duplicate_files": dups,
                                          "catalog_version": catalog_version()})


def _extract(kind: str) -> dg.AssetsDefinition:
    @dg.asset(name=f"{kind}_extract", partitions_def=MONTHLY, group_name=GROUP_INGEST, deps=[inbox_files],
              description=f"Loads the {kind} files: front-end edits (FE-*) as Pandera contracts, provenance on every row, "
                          "rejects kept with file, row and raw text.")
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource, inbox: InboxResource) -> dg.MaterializeResult:
        period = _period(context)
        with step(f"{kind}_extract") as info:
            t0 = time.perf_counter()
            with warehouse.warehouse.connect(period) as con:
                plan = {r[0]: (r[1], r[2], r[3]) for r in con.execute("SELECT * FROM run_plan").fetchall()}
                keys = [f"{a}|{b}" for a, b in con.execute(
                    "SELECT procedure_code, modifiers FROM procedure_codes WHERE period = ?", [period]).fetchall()]
                stats = ingest.load_kind(con, inbox.path, period, kind, plan, keys)
                _record_step(con, context, f"{kind}_extract", time.perf_counter() - t0, stats["loaded"])
                md = table_metadata(con, ingest.KINDS[kind].table, period)
            info["detail"] = f"{stats['loaded']:,} loaded, {stats['rejected']:,} rejected"
        return dg.MaterializeResult(metadata={**{k: dg.MetadataValue.int(v) for k, v in stats.items()}, **md})
    return _asset


EXTRACTS = [_extract(k) for k in ingest.KINDS]


@dg.asset(partitions_def=MONTHLY, group_name=GROUP_JUDGE,
          deps=["service_logs_extract", "staff_extract", "recipients_extract", "providers_extract", "claims_extract"],
          description="Service-log contracts: billable minutes per contact (CM-AIDE-*, GEN-STAFF, IHS-REMOTE-*, "
                      "IHS-CONCURRENT, IHS-SLEEP, IHS-NONCOVERED, TCM-FLAG).")
def log_billability(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    rules: RuleParametersResource) -> dg.MaterializeResult:
    period = _period(context)
    with step("log_billability") as info:
        t0 = time.perf_counter()
        with warehouse.warehouse.connect(period) as con:
            stats = judge.log_billability(con, period, rules.parameters())
            _record_step(con, context, "log_billability", time.perf_counter() - t0, stats["contacts"])
            md = table_metadata(con, "log_billability", period)
        info["detail"] = f"{stats['contacts']:,} contacts, {stats['unbillable']:,} with unbillable minutes"
    return dg.MaterializeResult(metadata={**stats, **md})


@dg.multi_asset(
    partitions_def=MONTHLY, group_name=GROUP_JUDGE,
    specs=[dg.AssetSpec("claim_outcomes", description="One row per claim line received in the period (plus reversal rows).",
                        deps=[log_billability, "authorizations_extract", "claims_extract", "recipients_extract", "providers_extract",
                              "facility_stays_extract"]),
           dg.AssetSpec("denial_ledger", deps=[log_billability],
                        description="One row per adjustment of a claim line: rule, CARC/RARC, citation, evidence."),
           dg.AssetSpec("payable_claims", deps=[log_billability],
                        description="Claim lines with paid units (a view over claim_outcomes).")],
    check_specs=[dg.AssetCheckSpec("balance", asset="claim_outcomes", blocking=True,
                                   description="billed = paid + adjustments per line, in dollars and units"),
                 dg.AssetCheckSpec("conservation", asset="claim_outcomes", blocking=True,
                                   description="every claim-file detail line appears exactly once")],
)
def judged_claims(context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RuleParametersResource):
    period = _period(context)
    with step("claim_outcomes") as info:
        t0 = time.perf_counter()
        with warehouse.warehouse.connect(period) as con:
            totals = judge.claim_outcomes(con, period, rules.parameters())
            problems = judge.balance_problems(con, period)
            mds = {t: table_metadata(con, t, period) for t in ("claim_outcomes", "denial_ledger", "payable_claims")}
            _record_step(con, context, "claim_outcomes", time.perf_counter() - t0, totals["claim_lines"])
        info["detail"] = f"{totals['claim_lines']:,} lines: {totals['paid_lines']:,} paid, {totals['partial_lines']:,} partial, " \
                         f"{totals['denied_lines']:,} denied, {totals['rejected_lines']:,} rejected"
    md = {k: (float(v) if not isinstance(v, int) else v) for k, v in totals.items()}
    yield dg.MaterializeResult(asset_key="claim_outcomes", metadata={**md, **mds["claim_outcomes"]})
    yield dg.MaterializeResult(asset_key="denial_ledger", metadata=mds["denial_ledger"])
    yield dg.MaterializeResult(asset_key="payable_claims", metadata=mds["payable_claims"])
    balance = [p for p in problems if "judged more than once" not in p and "differ" not in p]
    conservation = [p for p in problems if p not in balance]
    yield dg.AssetCheckResult(check_name="balance", asset_key="claim_outcomes", passed=not balance,
                              metadata={"problems": "; ".join(balance) or "none"})
    yield dg.AssetCheckResult(check_name="conservation", asset_key="claim_outcomes", passed=not conservation,
                              metadata={"problems": "; ".join(conservation) or "none"})


@dg.asset(partitions_def=MONTHLY, group_name=GROUP_JUDGE, deps=["claim_outcomes", log_billability],
          description="Compliance findings (reported, never denied), each with its evidence.")
def findings(context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: RuleParametersResource) -> dg.MaterializeResult:
    period = _period(context)
    p = rules.parameters()
    start, end = _period_bounds(period)
    with step("findings") as info:
        t0 = time.perf_counter()
        with warehouse.warehouse.connect(period) as con:
            snaps = judge.snapshot_periods(con, period)
            run_script(con, "service_groups.sql", {"period": period})
            run_script(con, "latest_contacts.sql")  # findings read clock dates only: no real instants needed
            run_script(con, "findings.sql", {
                "period": period, "period_start": start, "period_end": end, "sa_period": snaps["sa_period"],
                "staff_period": snaps["staff_period"], "remote_cap": p.remote_cap_units, "daily_cap": p.daily_cap_units,
                "daily_equiv": p.daily_unit_equivalent, "unbilled_days": p.unbilled_after_days,
                "caseload_max": p.caseload_max, "training_min": p.training_hours_min})
            counts = dict(con.execute("SELECT rule_id, count(*) FROM findings WHERE period = ? GROUP BY 1 ORDER BY 1",
                                      [period]).fetchall())
            md = table_metadata(con, "findings", period)
            _record_step(con, context, "findings", time.perf_counter() - t0, sum(counts.values()))
        info["detail"] = f"{sum(counts.values()):,} findings"
    return dg.MaterializeResult(metadata={**{k: dg.MetadataValue.int(v) for k, v in counts.items()}, **md})


def _staged_reports(warehouse: WarehouseResource, period: str):
    return warehouse.warehouse.staged_reports(period)


REPORT_CHECKS = {"file_controls": "GX: every file's control totals match what was loaded and rejected",
                 "balance": "GX: billed = paid + denied + rejected per provider, program and service; lines = loaded + rejected",
                 "judged_once": "GX: no claim line judged twice"}


@dg.asset(partitions_def=MONTHLY, group_name=GROUP_PUBLISH, deps=["claim_outcomes", "denial_ledger", findings],
          description="Finance reports of the period (Excel workbook, self-contained HTML, per-provider remittance "
                      "CSVs and X12 835 files with provider_balances) and Great Expectations control checks (an "
                      "offline page and Data Docs), staged beside the published reports.",
          check_specs=[dg.AssetCheckSpec(f"gx_{k}", asset="reports", blocking=True, description=v)
                       for k, v in REPORT_CHECKS.items()])
def reports(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    period = _period(context)
    folder = _staged_reports(warehouse, period)
    with step("reports") as info:
        t0 = time.perf_counter()
        controls.preload()  # GX's import (seconds) overlaps the DuckDB-bound report files
        reports_mod.clear_folder(folder)
        with warehouse.warehouse.connect(period) as con:  # what each provider's 835 pays, forwards and recovers
            x12.record_balances(con, period)
        with warehouse.warehouse.connect(period, read_only=True) as con:
            paths = reports_mod.build(con, period, folder, mask_ids=warehouse.mask_recipient_ids)
        info["detail"] = "workbook, HTML, remittance, X12 835"
    with step("controls") as info:
        with warehouse.warehouse.connect(period, read_only=True) as con:
            results = controls.run(con, period, folder / "data_docs")
        info["detail"] = ", ".join(f"{r.suite} {'✓' if r.success else '✗'}" for r in results)
        with warehouse.warehouse.connect(period) as con:
            _record_step(con, context, "reports", time.perf_counter() - t0, len(list(folder.rglob("*"))))
    yield dg.MaterializeResult(asset_key="reports", metadata={
        "workbook": dg.MetadataValue.path(str(warehouse.reports_path / period / paths["workbook"].name)),
        "html": dg.MetadataValue.path(str(warehouse.reports_path / period / paths["html"].name)),
        "controls": dg.MetadataValue.path(str(warehouse.reports_path / period / "controls.html")),
        "data_docs": dg.MetadataValue.path(str(warehouse.reports_path / period / "data_docs" / "index.html")),
        "x12_835_files": dg.MetadataValue.int(len(list(paths["x12"].glob("*.835"))))})
    for r in results:
        yield dg.AssetCheckResult(check_name=f"gx_{r.suite}", asset_key="reports", passed=r.success,
                                  metadata={"failed_expectations": "; ".join(r.failed) or "none"})


@dg.asset(partitions_def=MONTHLY, group_name=GROUP_PUBLISH,
          deps=["claim_outcomes", "denial_ledger", "payable_claims", findings, reports],
          description="Re-proves the balance, records the run in `runs`, and atomically replaces the published warehouse.")
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                        rules: RuleParametersResource) -> dg.MaterializeResult:
    period = _period(context)
    wh = warehouse.warehouse
    with step("publish") as info:
        with wh.connect(period) as con:
            judge.assert_balanced(con, period)
            totals = judge.period_totals(con, period)
            steps = dict(con.execute("SELECT step, round(seconds, 3) FROM run_steps WHERE run_id = ? ORDER BY step",
                                     [context.run_id]).fetchall())
            files = [dict(zip(("source_file", "kind", "sha256", "status"), r)) for r in con.execute(
                "SELECT source_file, kind, file_sha256, status FROM input_files WHERE period = ? ORDER BY source_file",
                [period]).fetchall()]
            rejected = con.execute("SELECT count(*) FROM rejected_records WHERE period = ?", [period]).fetchone()[0]
            catalog.comment_warehouse(con)  # every table, view and column described (views lose comments when re-created)
            started = context.instance.get_run_stats(context.run_id).start_time
            now = time.time()
            con.execute("DELETE FROM runs WHERE period = ? AND run_id = ?", [period, context.run_id])
            con.execute("""INSERT INTO runs VALUES (?, ?, 'published', to_timestamp(?), to_timestamp(?), ?, ?, ?, ?, ?,
                           ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        [context.run_id, period, started or now, now, now - (started or now), json.dumps(steps),
                         json.dumps(files), catalog_version(), rules.parameters().as_json(),
                         totals["claim_lines"], totals["paid_lines"], totals["partial_lines"], totals["denied_lines"],
                         totals["rejected_lines"], totals["reversal_rows"], totals["billed_amount"], totals["paid_amount"],
                         totals["adjusted_amount"], totals["rejected_amount"], rejected])
        # one atomic switch: the warehouse and the period's reports are published together
        path = wh.publish(period, _staged_reports(warehouse, period),
                          Path(warehouse.reports_dir) if warehouse.reports_dir else None)
        final = warehouse.reports_path / period
        info["detail"] = f"{path.name}, reports in {final}"

    return dg.MaterializeResult(metadata={"warehouse": dg.MetadataValue.path(str(path)),
                                          "billed_amount": float(totals["billed_amount"]),
                                          "paid_amount": float(totals["paid_amount"])})


ASSETS = [inbox_files, *EXTRACTS, log_billability, judged_claims, findings, reports, published_warehouse]
