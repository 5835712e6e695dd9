"""The run coordinator of a claimrecon instance (named in the shipped ``dagster.yaml``).

Dagster's queued run coordinator, with one addition: before a run is queued it gets the tags of a claim run
(``pipelines.definitions.run_tags``) if it lacks them, whatever launched it — the launchpad, a job or asset
backfill from the UI, ``dagster job launch``, the schedule or the sensor. Asset backfills, for one, carry only
the tags the operator typed. So the queue's limit of one run per ``claimrecon/warehouse`` holds for every run,
and earlier months leave the queue first (``dagster/priority``).

The warehouse is the run's own ``resources.warehouse.config.path`` where its run config sets one, else the code
location's default (``CLAIMRECON_WAREHOUSE``, the same environment the webserver and daemon share).
"""

import dagster as dg
from dagster._core.run_coordinator import SubmitRunContext
from dagster._core.storage.tags import PARTITION_NAME_TAG

from pipelines.definitions import default_warehouse, run_tags


def warehouse_of(run: dg.DagsterRun) -> str:
    config = (run.run_config or {}).get("resources", {}).get("warehouse", {}).get("config", {})
    return config.get("path") or default_warehouse()


class WarehouseRunCoordinator(dg.QueuedRunCoordinator):
    def submit_run(self, context: SubmitRunContext) -> dg.DagsterRun:
        run = context.dagster_run
        # tags the launcher set (the sensor sets both; an operator may set a priority) stand
        missing = {k: v for k, v in run_tags(run.tags.get(PARTITION_NAME_TAG), warehouse_of(run)).items()
                   if k not in run.tags}
        if missing:
            self._instance.add_run_tags(run.run_id, missing)
            run = self._instance.get_run_by_id(run.run_id)
            context = SubmitRunContext(run, context.workspace)
        return super().submit_run(context)
