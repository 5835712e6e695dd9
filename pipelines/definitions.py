"""Dagster definitions for claimrecon: `dagster dev` (over workspace.yaml) shows the asset graph.

The monthly claim run is one job over the partitioned assets (partition key = period, YYYY-MM), executed in
process: the run holds the warehouse's single writer lock from start to end. A schedule runs the previous
month's partition early each month, on the agency's clock; a sensor starts a run when a new month folder
appears in the inbox.

Every run carries the tag ``claimrecon/warehouse`` (the warehouse it writes) and a ``dagster/priority`` that
puts earlier months first: the shipped ``dagster.yaml`` queues runs and lets one run per warehouse go at a
time, so a backfill or a sensor tick over several months runs them one by one, in month order.
"""


import os
import re
from pathlib import Path

import dagster as dg

from assets.claim_run import ASSETS, MONTHLY
from pipelines.resources import InboxResource, RuleParametersResource, WarehouseResource

JOB_NAME = "monthly_claim_run"
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
WAREHOUSE_TAG = "claimrecon/warehouse"


def default_warehouse() -> str:
    return os.environ.get("CLAIMRECON_WAREHOUSE", "warehouse/claimrecon.duckdb")


def run_tags(period: str | None, warehouse: str | os.PathLike) -> dict[str, str]:
    """The tags of a claim run: its warehouse (the run queue's one-run-per-warehouse limit is on this tag) and a
    priority that dequeues earlier months first (a month's history is every month before it)."""
    # the warehouse's stable path, not resolved: it is a link into the published version, which changes each run
    tags = {WAREHOUSE_TAG: os.path.abspath(warehouse)}
    if period and PERIOD_RE.match(period):
        year, month = map(int, period.split("-"))
        tags["dagster/priority"] = str(-(year * 12 + month))
    return tags


monthly_claim_run = dg.define_asset_job(
    JOB_NAME, selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor,
    description="Ingest the month's extracts, judge every claim line, publish the warehouse.")

# 06:00 on the 3rd, agency time (the partitions' time zone, CLAIMRECON_TIMEZONE): the month before.
monthly_schedule = dg.build_schedule_from_partitioned_job(
    monthly_claim_run, hour_of_day=6, day_of_month=3, name="monthly_claim_run_schedule",
    default_status=dg.DefaultScheduleStatus.STOPPED)


def inbox_path() -> str:
    return os.environ.get("CLAIMRECON_INBOX", "inbox")


@dg.sensor(job=monthly_claim_run, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED)
def inbox_month_sensor(context: dg.SensorEvaluationContext):
    """A new <inbox>/<YYYY-MM>/ folder with a claims file starts that month's run (once per folder)."""
    seen = set((context.cursor or "").split(",")) - {""}
    root = Path(inbox_path())
    months = sorted(p.name for p in root.iterdir() if p.is_dir() and PERIOD_RE.match(p.name)) if root.is_dir() else []
    valid = set(MONTHLY.get_partition_keys())
    # claims file names match case-insensitively, as the run reads them (`X.TXT`)
    new = [m for m in months if m not in seen and m in valid and (root / m / "claims").is_dir()
           and any(p.name.lower().endswith(".txt") for p in (root / m / "claims").iterdir())]
    # in month order, as one batch: the run queue keeps the order (priority) and runs them one at a time, and a
    # month is refused if one before it in the batch did not publish
    batch = {"claimrecon/batch": f"inbox:{new[0]}..{new[-1]}"} if new else {}
    for month in new:
        seen.add(month)
        yield dg.RunRequest(run_key=f"inbox-{month}", partition_key=month,
                            tags={**run_tags(month, default_warehouse()), **batch})
    context.update_cursor(",".join(sorted(seen)))


def resources(warehouse: str | None = None, inbox: str | None = None, reports_dir: str = "",
              mask_recipient_ids: bool = True) -> dict:
    return {
        "warehouse": WarehouseResource(path=warehouse or default_warehouse(),
                                       reports_dir=reports_dir, mask_recipient_ids=mask_recipient_ids),
        "inbox": InboxResource(path=inbox or inbox_path()),
        "rules": RuleParametersResource(),
    }


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=ASSETS, jobs=[monthly_claim_run], schedules=[monthly_schedule],
                          sensors=[inbox_month_sensor], resources=resources())
