"""Resources: the warehouse (one writer, held for the whole run), the inbox and the rule parameters."""


import dataclasses
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from claimrecon.warehouse import Warehouse
from contracts.rules import Parameters

DEFAULTS = Parameters()


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
