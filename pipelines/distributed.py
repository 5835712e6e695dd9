"""The monthly claim run on Celery workers: Dagster's Celery executor (dagster-celery) with a Redis broker.

Every step of a run is a Celery task that any worker may take, on this machine or another one: the worker
rebuilds the job from this module, opens the run's Dagster instance from the reference in the task, runs the
step and sends its events back. What the workers share is therefore (``docs/scaling.md``): the Dagster
instance (here SQLite under one DAGSTER_HOME; on a cluster, Postgres), the inboxes, and the run's staging
DuckDB file beside the warehouse (a network file system, or one worker per warehouse).

The steps of one run share that staging file, which has one writer, so a run hands out one step at a time
(dagster-celery submits every ready step at once; ``OneStepAtATime`` limits the plan to one in flight). The
parallelism is across runs: a region × month fan-out runs each region's months in order on its own
warehouse, and different regions' steps run side by side on whichever workers are free.

``python -m pipelines.distributed`` runs one region's months in order (the orchestrator; one per region runs
side by side). ``tests/test_celery_workers.py`` starts redis-server and two workers, runs two regions' months through them
and compares every row with the serial in-process run.
"""

import argparse
import json
import sys

import dagster as dg
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor

from pipelines.definitions import run_tags
from pipelines.parallel import claim_run_job
from pipelines.parallel import run_config as _run_config

JOB_NAME = "celery_claim_run"


class OneStepAtATime(ExecutionPlan):
    """A run's plan that lets one step be in flight at a time (the executor asks it for steps to submit)."""

    def start(self, retry_mode, sort_key_fn=None, max_concurrent=None, *args, **kwargs):
        return super().start(retry_mode, sort_key_fn, 1, *args, **kwargs)


class SerialStepsCeleryExecutor(CeleryExecutor):
    def execute(self, plan_context, execution_plan):
        return super().execute(plan_context, OneStepAtATime(**execution_plan._asdict()))


@dg.executor(name="celery", config_schema=CELERY_CONFIG, requirements=dg.multiple_process_executor_requirements())
def celery_executor(init_context: dg.InitExecutorContext) -> SerialStepsCeleryExecutor:
    """dagster-celery's executor, one step of a run at a time (the same config: broker, backend, include …)."""
    cfg = init_context.executor_config
    return SerialStepsCeleryExecutor(broker=cfg.get("broker"), backend=cfg.get("backend"),
                                     config_source=cfg.get("config_source"), include=cfg.get("include"),
                                     retries=RetryMode.from_config(cfg["retries"]))


def celery_claim_run() -> dg.JobDefinition:
    """Reconstructable: the workers import this module and call it to rebuild the job."""
    return claim_run_job(JOB_NAME, celery_executor)


def celery_config(broker: str, backend: str) -> dict:
    """The executor's config; a worker started with ``dagster-celery worker start -y`` reads the same block."""
    return {"execution": {"config": {"broker": broker, "backend": backend}}}


def execute(period: str, inbox: str, warehouse: str, instance: dg.DagsterInstance, broker: str, backend: str,
            reports_dir: str = "") -> dg.JobExecutionResult:
    """One (month, region) partition, its steps on the Celery workers listening on ``broker``."""
    return dg.execute_job(dg.reconstructable(celery_claim_run), instance=instance,
                          run_config={**_run_config(inbox, warehouse, reports_dir), **celery_config(broker, backend)},
                          tags={"dagster/partition": period, **run_tags(period, warehouse)})


def main(argv: list[str] | None = None) -> int:
    """One region's months, in order, on the Celery workers; the Dagster instance is $DAGSTER_HOME (the one the
    workers were started with). Prints one JSON line per run; stops at the first month that fails."""
    ap = argparse.ArgumentParser(prog="python -m pipelines.distributed", description=main.__doc__)
    ap.add_argument("--inbox", required=True)
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--broker", required=True, help="e.g. redis://127.0.0.1:6379/0")
    ap.add_argument("--backend", required=True, help="e.g. redis://127.0.0.1:6379/1")
    ap.add_argument("periods", nargs="+", help="YYYY-MM, in the order to run them")
    a = ap.parse_args(argv)
    with dg.DagsterInstance.get() as instance:
        for period in a.periods:
            result = execute(period, a.inbox, a.warehouse, instance, a.broker, a.backend)
            print(json.dumps({"period": period, "run_id": result.run_id, "success": result.success}), flush=True)
            if not result.success:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
