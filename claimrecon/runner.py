"""Run one monthly claim run through the Dagster job (the same assets the UI runs), in process.

The run is recorded in the warehouse's Dagster instance (``dagster_home``): the instance the UI opens, so a
month run from the command line shows there with its partition, metadata, checks and run history.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from claimrecon.errors import ClaimreconError, RunRefused, printable
from claimrecon.paths import ROOT

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
INSTANCE_CONFIG = ROOT / "dagster.yaml"  # queued runs, one run per warehouse at a time


def dagster_home(warehouse: str | Path) -> Path:
    """The Dagster instance a warehouse's runs are recorded in: ``$DAGSTER_HOME`` when set, else ``dagster_home/``
    beside the warehouse. Created owner-only (its event log names files and counts, never PHI, but it sits
    with PHI), with the shipped ``dagster.yaml`` unless the folder already has one."""
    from claimrecon.warehouse import secure_dir

    # beside the warehouse's stable path (not resolved: that is a link into the published version)
    home = Path(os.environ.get("DAGSTER_HOME") or Path(os.path.abspath(warehouse)).parent / "dagster_home")
    secure_dir(home)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(INSTANCE_CONFIG, home / "dagster.yaml")
    return home


def open_instance(warehouse: str | Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(dagster_home(warehouse)))


@dataclass
class RunResult:
    period: str
    warehouse: Path
    totals: dict
    run_id: str
    reports: Path
    not_read: list[tuple[str, str, str]]  # (file, status, reason): inbox entries refused, duplicate or read with a problem
    dagster_home: Path | None = None


#: Causes recognised in the message of an error that is not ours, said in words (no record values).
CAUSES = (("No space left on device", "the disk is full"), ("Disk quota exceeded", "the disk quota is used up"),
          ("Permission denied", "permission denied"), ("Read-only file system", "the file system is read-only"),
          ("not a valid DuckDB database file", "a DuckDB file is not a DuckDB database or is damaged"))
_OS_FILE = re.compile(r"\[Errno \d+\] [^:']*: '([^']*)'")


def _first_error(result) -> str:
    """The one-line reason of a failed run: our own error's message where there is one, else the step
    and the cause in words (disk full, permission denied, a damaged file) with the file it concerns;
    never a record value (the messages of other errors may quote one)."""
    messages, causes = [], []
    for ev in result.all_events:  # a blocking control check that failed: say which, and what it found
        data = getattr(ev, "event_specific_data", None)
        if ev.event_type_value == "ASSET_CHECK_EVALUATION" and not getattr(data, "passed", True):
            found = getattr(data.metadata.get("failed_expectations") or data.metadata.get("problems"), "value", "")
            return f"the control check {data.check_name} failed: {printable(found)}; nothing was published"
    for ev in result.all_events:
        data = getattr(ev, "event_specific_data", None)
        err = getattr(data, "error", None)
        while err is not None:
            if err.cls_name in {"RunRefused", "WarehouseBusy", "BalanceError", "ClaimreconError"}:
                return err.message.split(":", 1)[1].strip() if ":" in err.message else err.message.strip()
            messages.append(f"{err.cls_name}")
            for needle, words in CAUSES:
                if needle in (err.message or ""):
                    m = _OS_FILE.search(err.message)
                    causes.append(f"{words} ({printable(m.group(1))})" if m else words)
            err = err.cause
    failed = [ev.step_key for ev in result.all_events if ev.is_step_failure]
    where = f"the run failed at {', '.join(failed) or 'start-up'}"
    if causes:
        return f"{where}: {causes[0]}; nothing was published"
    return (f"{where} ({', '.join(dict.fromkeys(messages))}; details withheld as they may quote a record: "
            "CLAIMRECON_DEBUG=1 shows where); nothing was published")


def run_period(inbox: str | Path, period: str, warehouse: str | Path, reports_dir: str | Path = "",
               rule_config: dict | None = None, instance: dg.DagsterInstance | None = None,
               show_recipient_ids: bool = False) -> RunResult:
    if not PERIOD_RE.match(period or ""):
        raise ClaimreconError(f"bad period {period!r}: expected YYYY-MM")
    if not Path(inbox).is_dir():
        raise RunRefused(f"the inbox folder {printable(inbox)} does not exist")
    if not (Path(inbox) / period).is_dir():
        raise RunRefused(f"the inbox has no folder for {period} ({printable(Path(inbox) / period)})")
    from assets.claim_run import ASSETS
    from pipelines.definitions import JOB_NAME, monthly_claim_run, resources, run_tags

    defs = dg.Definitions(assets=ASSETS, jobs=[monthly_claim_run],
                          resources=resources(str(warehouse), str(inbox), str(reports_dir),
                                              mask_recipient_ids=not show_recipient_ids))
    job = defs.resolve_job_def(JOB_NAME)
    run_config = dict(QUIET)
    if rule_config:
        run_config["resources"] = {"rules": {"config": rule_config}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inst = instance or open_instance(warehouse)
        try:
            result = job.execute_in_process(partition_key=period, instance=inst, run_config=run_config,
                                            tags=run_tags(period, warehouse),
                                            raise_on_error=bool(os.environ.get("CLAIMRECON_DEBUG")))
        finally:
            home = Path(inst.root_directory) if inst.is_persistent else None
            if instance is None:
                inst.dispose()
    if not result.success:
        raise ClaimreconError(_first_error(result))
    from claimrecon.warehouse import Warehouse
    wh = Warehouse(warehouse)
    with wh.read_published() as con:
        from claimrecon.judge import period_totals
        totals = period_totals(con, period)
        not_read = con.execute("SELECT source_file, status, reason FROM input_files WHERE period = ? AND "
                               "(status <> 'loaded' OR reason IS NOT NULL) ORDER BY source_file", [period]).fetchall()
    reports = (Path(reports_dir) if reports_dir else wh.path.parent / "reports") / period
    return RunResult(period, wh.path, totals, result.run_id, reports, not_read, home)


if __name__ == "__main__":  # `python -m claimrecon.runner WAREHOUSE`: prepare and print its DAGSTER_HOME (make ui)
    print(dagster_home(sys.argv[1]))
