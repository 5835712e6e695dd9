"""Resources: the warehouse (one writer, held for the whole run), the inbox and the rule parameters."""


import dataclasses
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from claimrecon.errors import RunRefused
from claimrecon.warehouse import Warehouse
from contracts.rules import Parameters

DEFAULTS = Parameters()
#: Runs launched together: a backfill, or one tick of the inbox sensor. Within one, a month waits for the months
#: before it to publish (their history), and is refused if one of them did not.
BATCH_TAGS = ("dagster/backfill", "claimrecon/batch")


def unpublished_earlier_month(run: dg.DagsterRun | None, instance: dg.DagsterInstance | None) -> str | None:
    """An earlier month of the same batch whose latest run did not succeed (failed, cancelled, still waiting)."""
    period = run.tags.get("dagster/partition") if run else None
    if not period or instance is None:
        return None
    for tag in BATCH_TAGS:
        if not run.tags.get(tag):
            continue
        same = {k: run.tags[k] for k in (tag, "claimrecon/warehouse") if k in run.tags}  # this batch, this warehouse
        latest: dict[str, dg.DagsterRun] = {}
        for other in instance.get_runs(filters=dg.RunsFilter(tags=same)):  # newest first
            latest.setdefault(other.tags.get("dagster/partition", ""), other)
        for month, other in sorted(latest.items()):
            if "" < month < period and other.status != dg.DagsterRunStatus.SUCCESS:
                return f"{month} ({other.status.value.lower()})"
    return None


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse. Holds the writer's lock from setup to teardown, so two runs can never
    write the same warehouse; a second one is refused with a clear message."""

    path: str = "warehouse/claimrecon.duckdb"
    reports_dir: str = ""
    mask_recipient_ids: bool = True  # reports for wide circulation mask ids; full ids only on explicit request
    _lock = PrivateAttr(default=None)

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.path)

    @property
    def reports_path(self) -> Path:
        return Path(self.reports_dir) if self.reports_dir else self.warehouse.path.parent / "reports"

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        earlier = unpublished_earlier_month(context.dagster_run, context.instance)
        if earlier:
            raise RunRefused(f"the month before in this batch, {earlier}, did not publish; this month's history "
                             "depends on it: re-run that month first, then this one")
        self._lock = self.warehouse.writer_lock()
        self._lock.__enter__()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None


class InboxResource(dg.ConfigurableResource):
    """The folder of monthly drops: <inbox>/<YYYY-MM>/{claims,authorizations,service_logs,reference}."""

    path: str = "inbox"


class RuleParametersResource(dg.ConfigurableResource):
    """Rule parameters for this run (recorded in `runs`): ask "what if" by re-running into a scratch warehouse."""

    daily_cap_units: int = DEFAULTS.daily_cap_units
    remote_cap_units: int = DEFAULTS.remote_cap_units
    round_up_remainder_minutes: int = DEFAULTS.round_up_remainder_minutes
    timely_filing_months: int = DEFAULTS.timely_filing_months
    replacement_grace_months: int = DEFAULTS.replacement_grace_months
    day_unit_min_minutes: int = DEFAULTS.day_unit_min_minutes
    default_sleep_start: str = DEFAULTS.default_sleep_start
    default_sleep_end: str = DEFAULTS.default_sleep_end
    unbilled_after_days: int = DEFAULTS.unbilled_after_days
    caseload_max: int = DEFAULTS.caseload_max
    training_hours_min: float = DEFAULTS.training_hours_min

    def parameters(self) -> Parameters:
        names = {f.name for f in dataclasses.fields(Parameters)}
        return Parameters(**{k: v for k, v in self.model_dump().items() if k in names})
