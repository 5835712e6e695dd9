"""Dagster definitions for claimrecon: `dagster dev` (over workspace.yaml) shows the asset graph.

The monthly claim run is one job over the partitioned assets, executed in process: the run holds the
warehouse's single writer lock from start to end. A schedule runs the previous month's partition early
each month; a sensor starts a run when a new month folder appears in the inbox.
"""


import os
import re
from pathlib import Path

import dagster as dg

from assets.claim_run import ASSETS, MONTHLY
from pipelines.resources import InboxResource, RuleParametersResource, WarehouseResource

JOB_NAME = "monthly_claim_run"
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

monthly_claim_run = dg.define_asset_job(
    JOB_NAME, selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor,
    description="Ingest the month's extracts, judge every claim line, publish the warehouse.")

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
    for month in months:
        period_key = f"{month}-01"
        claims = root / month / "claims"  # names match case-insensitively, as the run reads them (`X.TXT`)
        if month in seen or period_key not in valid or not claims.is_dir() or \
                not any(p.name.lower().endswith(".txt") for p in claims.iterdir()):
            continue
        seen.add(month)
        yield dg.RunRequest(run_key=f"inbox-{month}", partition_key=period_key)
    context.update_cursor(",".join(sorted(seen)))


def resources(warehouse: str | None = None, inbox: str | None = None, reports_dir: str = "",
              mask_recipient_ids: bool = True) -> dict:
    return {
        "warehouse": WarehouseResource(path=warehouse or os.environ.get("CLAIMRECON_WAREHOUSE", "warehouse/claimrecon.duckdb"),
                                       reports_dir=reports_dir, mask_recipient_ids=mask_recipient_ids),
        "inbox": InboxResource(path=inbox or inbox_path()),
        "rules": RuleParametersResource(),
    }


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=ASSETS, jobs=[monthly_claim_run], schedules=[monthly_schedule],
                          sensors=[inbox_month_sensor], resources=resources())
