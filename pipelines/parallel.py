"""The monthly claim run on Dagster's multiprocess executor, one run per (month, region) partition.

This is how claimrecon runs past one process: every step of a run executes in its own child process
(on a cluster, the k8s_job_executor gives each its own pod instead), and independent partitions (a
month of one state or program: its own inbox and its own warehouse) run as separate runs at the same
time. Months of one warehouse stay in order (their history), and a warehouse still has one writer:
within a run the steps run one at a time (``max_concurrent: 1``) because they share the run's staging
DuckDB file, and the warehouse lock refuses a second run on the same warehouse.

``docs/scaling.md`` describes the path; ``tests/test_parallel_partitions.py`` runs two regions in
parallel here and compares every row with a serial run.
"""

import dagster as dg

from assets.claim_run import ASSETS
from pipelines.definitions import run_tags
from pipelines.resources import InboxResource, RuleParametersResource, WarehouseResource

JOB_NAME = "regional_claim_run"


def claim_run_job(name: str, executor_def: dg.ExecutorDefinition) -> dg.JobDefinition:
    """The monthly claim run's assets as a job on another executor; the inbox and warehouse are run config,
    so one job serves every region (state, program), each with its own inbox and warehouse."""
    job = dg.define_asset_job(name, selection=dg.AssetSelection.all(), executor_def=executor_def)
    defs = dg.Definitions(assets=ASSETS, jobs=[job], resources={
        "warehouse": WarehouseResource.configure_at_launch(),
        "inbox": InboxResource.configure_at_launch(),
        "rules": RuleParametersResource(),
    })
    return defs.resolve_job_def(name)


def regional_claim_run() -> dg.JobDefinition:
    """A reconstructable job (step processes re-import it): resources are configured per run."""
    return claim_run_job(JOB_NAME, dg.multiprocess_executor.configured({
        "max_concurrent": 1,
        # one server process imports the pipeline once, then forks a process per step
        "start_method": {"forkserver": {"preload_modules": ["assets.claim_run"]}}}))


def run_config(inbox: str, warehouse: str, reports_dir: str = "") -> dict:
    return {"resources": {"warehouse": {"config": {"path": warehouse, "reports_dir": reports_dir}},
                          "inbox": {"config": {"path": inbox}}},
            "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def execute(period: str, inbox: str, warehouse: str, instance: dg.DagsterInstance,
            reports_dir: str = "") -> dg.JobExecutionResult:
    """One (month, region) partition on the multiprocess executor."""
    return dg.execute_job(dg.reconstructable(regional_claim_run), instance=instance,
                          run_config=run_config(inbox, warehouse, reports_dir),
                          tags={"dagster/partition": period, **run_tags(period, warehouse)})
