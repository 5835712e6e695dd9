"""Operations in Dagster, as an operator would do them (docs/scaling.md):

* months run from the command line (`claimrecon run`) are recorded in the Dagster instance the UI opens
  (`make ui`: DAGSTER_HOME beside the warehouse), materialized, with their checks and metadata;
* partition keys are the periods (`dagster job launch --tags '{"dagster/partition": "2026-02"}'` works) and the
  schedule keeps the agency's clock;
* a three-month backfill, and the inbox sensor over two months, go through the shipped dagster.yaml's queue and a
  real `dagster-daemon`: one run per warehouse at a time, months in month order, and every output row equal to
  running the months one by one from the command line.
"""

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimrecon.generator import generate
from claimrecon.paths import ROOT
from claimrecon.runner import dagster_home
from tests.conftest import ro
from tests.rows import TABLES, output_rows

BIN = Path(sys.executable).parent
MONTHS = ["2026-01", "2026-02", "2026-03"]
PUBLISHED = dg.AssetKey("published_warehouse")


@pytest.fixture(scope="module")
def cli_months(tmp_path_factory):
    """Three demo months run one by one with `claimrecon run`, each a process of its own, as an operator would."""
    root = tmp_path_factory.mktemp("ops")
    s = generate(root / "inbox", months=3, seed=31, scale="demo")
    assert s["periods"] == MONTHS
    wh = root / "cli" / "claimrecon.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    for period in MONTHS:
        proc = subprocess.run([str(BIN / "claimrecon"), "run", "--inbox", str(root / "inbox"), "--period", period,
                               "--warehouse", str(wh)], capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "Dagster run" in proc.stdout
    return {"root": root, "inbox": root / "inbox", "warehouse": wh}


def _env(home: Path, inbox: Path, warehouse: Path) -> dict:
    return {**os.environ, "DAGSTER_HOME": str(home), "CLAIMRECON_INBOX": str(inbox),
            "CLAIMRECON_WAREHOUSE": str(warehouse), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _dagster(env: dict, *args: str) -> str:
    proc = subprocess.run([str(BIN / "dagster"), *args, "-w", str(ROOT / "workspace.yaml")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc.stdout


@contextmanager
def _daemon(env: dict, log: Path):
    """A real `dagster-daemon run` (queue, sensors, backfills) in its own process group, ended by its id."""
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _wait_for_runs(home: Path, count: int, log: Path, timeout: float = 420) -> list:
    deadline = time.monotonic() + timeout
    with dg.DagsterInstance.from_config(str(home)) as inst:
        while time.monotonic() < deadline:
            runs = inst.get_runs()
            if len(runs) >= count and all(r.is_finished for r in runs):
                return [(r, inst.get_run_stats(r.run_id)) for r in runs]
            time.sleep(2)
    raise AssertionError(f"runs did not finish in {timeout} s; daemon log tail: {log.read_text()[-3000:]}")


def _one_at_a_time_in_month_order(runs: list, warehouse: Path) -> list[str]:
    """The runs' partitions by start time, after checking each started after the one before it had ended."""
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r, _ in runs), [(r.tags, r.status) for r, _ in runs]
    assert {r.tags["claimrecon/warehouse"] for r, _ in runs} == {os.path.abspath(warehouse)}  # the stable path (a link into the published version)
    by_start = sorted(runs, key=lambda rs: rs[1].start_time)
    for (_, before), (_, after) in zip(by_start, by_start[1:]):
        assert after.start_time >= before.end_time, "two runs of one warehouse overlapped"
    return [r.tags["dagster/partition"] for r, _ in by_start]


def test_cli_runs_are_recorded_in_the_instance_the_ui_opens(cli_months):
    wh = cli_months["warehouse"]
    # what `make ui` sets DAGSTER_HOME to
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    home = subprocess.run([sys.executable, "-m", "claimrecon.runner", str(wh)], capture_output=True, text=True,
                          check=True, env=env).stdout.strip()
    assert Path(home) == wh.parent / "dagster_home"
    with dg.DagsterInstance.from_config(home) as inst:
        assert type(inst.run_coordinator).__name__ == "WarehouseRunCoordinator"  # the shipped dagster.yaml
        for key in ("inbox_files", "claim_outcomes", "findings", "reports", "published_warehouse"):
            assert inst.get_materialized_partitions(dg.AssetKey(key)) == set(MONTHS), key
        runs = inst.get_runs()
        assert sorted(r.tags["dagster/partition"] for r in runs) == MONTHS
        assert all(r.status == dg.DagsterRunStatus.SUCCESS and r.tags["claimrecon/warehouse"] == os.path.abspath(wh)
                   for r in runs)
        # metadata and checks, as the UI shows them
        event = inst.get_latest_materialization_event(dg.AssetKey("claim_outcomes"))
        assert event.asset_materialization.partition == "2026-03"
        with ro(wh) as con:
            lines = con.execute("SELECT count(*) FROM claim_outcomes WHERE period = '2026-03'").fetchone()[0]
        assert event.asset_materialization.metadata["dagster/row_count"].value == lines > 500
        for check in ("balance", "conservation"):
            record = inst.event_log_storage.get_latest_asset_check_execution_by_key(
                [dg.AssetCheckKey(dg.AssetKey("claim_outcomes"), check)])
            assert record[dg.AssetCheckKey(dg.AssetKey("claim_outcomes"), check)].status.value == "SUCCEEDED"
    # the instance folder sits with PHI: owner-only
    assert Path(home).stat().st_mode & 0o077 == 0


def test_dagster_home_is_beside_the_warehouse_unless_set(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert dagster_home(tmp_path / "a" / "w.duckdb") == (tmp_path / "a" / "dagster_home").resolve()
    assert (tmp_path / "a" / "dagster_home" / "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()
    own = tmp_path / "ops_home"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(own))
    assert dagster_home(tmp_path / "a" / "w.duckdb") == own
    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"  # an operator's own config stands


def test_partition_keys_are_periods_and_the_schedule_runs_on_agency_time():
    from pipelines.definitions import MONTHLY, monthly_schedule, defs

    keys = MONTHLY.get_partition_keys()
    assert keys[0] == "2024-01" and all(len(k) == 7 for k in keys)
    schedule = defs().resolve_schedule_def("monthly_claim_run_schedule")
    assert schedule.execution_timezone == "America/Chicago" and schedule.cron_schedule == "0 6 3 * *"
    chicago = ZoneInfo("America/Chicago")
    # 06:00 on 3 February in Chicago is noon UTC: the run is for January, the month before
    ctx = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 2, 3, 6, tzinfo=chicago))
    requests = schedule.evaluate_tick(ctx).run_requests
    assert [r.partition_key for r in requests] == ["2026-01"]
    # the months themselves follow the agency's clock: 1 February 03:00 UTC is still January in Chicago
    window = MONTHLY.time_window_for_partition_key("2026-02")
    assert window.start == dt.datetime(2026, 2, 1, tzinfo=chicago)
    assert monthly_schedule is not None
    # and the time zone is configurable
    out = subprocess.run([sys.executable, "-c", "from assets.claim_run import MONTHLY; print(MONTHLY.timezone)"],
                         env={**os.environ, "CLAIMRECON_TIMEZONE": "America/Denver"}, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "America/Denver"


def test_dagster_job_launch_takes_a_period_and_the_queue_runs_earlier_months_first(cli_months, tmp_path):
    """An operator launches February by hand, then sees January is missing and launches it too: January runs first."""
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    home = dagster_home(wh)
    env = _env(home, cli_months["inbox"], wh)
    for month in ("2026-02", "2026-01"):
        _dagster(env, "job", "launch", "-j", "monthly_claim_run", "--tags", json.dumps({"dagster/partition": month}))
    with dg.DagsterInstance.from_config(str(home)) as inst:
        runs = inst.get_runs()  # newest first
        # queued (no daemon yet), tagged by the coordinator with the warehouse and the month's priority
        assert [r.tags["dagster/partition"] for r in runs] == ["2026-01", "2026-02"]
        assert all(r.status == dg.DagsterRunStatus.QUEUED for r in runs)
        assert {r.tags["claimrecon/warehouse"] for r in runs} == {os.path.abspath(wh)}
        assert [int(r.tags["dagster/priority"]) for r in runs] == [-(2026 * 12 + 1), -(2026 * 12 + 2)]
    assert not wh.exists()  # nothing ran yet
    log = tmp_path / "daemon.log"
    with _daemon(env, log):
        runs = _wait_for_runs(home, 2, log)
    assert _one_at_a_time_in_month_order(runs, wh) == ["2026-01", "2026-02"]
    got, want = output_rows(wh), output_rows(cli_months["warehouse"], MONTHS[:2])
    for t in TABLES:
        assert got[t] == want[t], t


def test_a_three_month_backfill_runs_month_by_month_and_equals_the_cli_runs(cli_months, tmp_path):
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    home = dagster_home(wh)
    env = _env(home, cli_months["inbox"], wh)
    _dagster(env, "job", "backfill", "-j", "monthly_claim_run", "--partitions", ",".join(MONTHS),
             "--noprompt")
    log = tmp_path / "daemon.log"
    with _daemon(env, log):
        runs = _wait_for_runs(home, 3, log)
    assert {r.tags.get("dagster/backfill") for r, _ in runs} != {None}
    assert _one_at_a_time_in_month_order(runs, wh) == MONTHS
    got, want = output_rows(wh), output_rows(cli_months["warehouse"])
    assert all(len(want[t]) > 0 for t in ("claim_outcomes", "denial_ledger", "log_billability", "findings"))
    for t in TABLES:
        assert got[t] == want[t], t


def test_the_inbox_sensor_over_two_months_queues_them_one_at_a_time(cli_months, tmp_path):
    inbox = tmp_path / "inbox"
    for month in MONTHS[:2]:
        shutil.copytree(cli_months["inbox"] / month, inbox / month)
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    home = dagster_home(wh)
    env = _env(home, inbox, wh)
    _dagster(env, "sensor", "start", "inbox_month_sensor")
    log = tmp_path / "daemon.log"
    with _daemon(env, log):
        runs = _wait_for_runs(home, 2, log)
    assert sorted(r.tags["dagster/sensor_name"] for r, _ in runs) == ["inbox_month_sensor"] * 2
    assert {r.tags["claimrecon/batch"] for r, _ in runs} == {"inbox:2026-01..2026-02"}  # one batch: month waits for month
    assert _one_at_a_time_in_month_order(runs, wh) == MONTHS[:2]
    got, want = output_rows(wh), output_rows(cli_months["warehouse"], MONTHS[:2])
    for t in TABLES:
        assert got[t] == want[t], t


def test_a_month_of_a_batch_is_refused_when_the_month_before_it_did_not_publish(demo_copy, tmp_path):
    """Boundary: within one backfill, February runs when January published and is refused when January failed."""
    from assets.claim_run import ASSETS
    from pipelines.definitions import resources

    inbox, wh = demo_copy["inbox"], demo_copy["warehouse"]
    jan, feb = demo_copy["periods"]

    def materialize(inst, period, backfill):
        return dg.materialize(ASSETS, partition_key=period, instance=inst, resources=resources(str(wh), str(inbox)),
                              tags={"dagster/backfill": backfill}, raise_on_error=False)

    with dg.DagsterInstance.from_config(str(dagster_home(wh))) as inst:
        # fails: January's folder is missing when its run starts, so January fails; February of that backfill waits
        shutil.move(inbox / jan, tmp_path / jan)
        assert not materialize(inst, jan, "b-fail").success
        shutil.move(tmp_path / jan, inbox / jan)
        refused = materialize(inst, feb, "b-fail")
        assert not refused.success
        failure = next(e for e in refused.all_events if e.is_failure)
        message = str(failure.event_specific_data.error.cause or failure.event_specific_data.error)
        assert f"{jan} (failure), did not publish" in message, message
        # passes: the same February in a backfill whose January published
        assert materialize(inst, jan, "b-pass").success
        assert materialize(inst, feb, "b-pass").success


PERIODS = st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2024, 2030), st.integers(1, 12))


@settings(deadline=None)  # the first example imports the pipeline
@given(st.lists(PERIODS, min_size=2, max_size=6, unique=True))
def test_priority_orders_any_months_as_the_calendar_does(periods):
    from pipelines.definitions import run_tags

    by_priority = sorted(periods, key=lambda p: int(run_tags(p, "w.duckdb")["dagster/priority"]), reverse=True)
    assert by_priority == sorted(periods)


class _Runs:
    """The one instance call the batch check makes, over a list of runs (newest first)."""

    def __init__(self, runs):
        self.runs = runs

    def get_runs(self, filters):
        return [r for r in self.runs if all(r.tags.get(k) == v for k, v in filters.tags.items())]


STATUSES = st.sampled_from([dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED,
                            dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTED])


@settings(deadline=None)
@given(st.lists(st.tuples(st.sampled_from(MONTHS), STATUSES), max_size=8), st.sampled_from(MONTHS),
       st.sampled_from(["dagster/backfill", "claimrecon/batch"]))
def test_a_month_waits_exactly_for_the_earlier_months_of_its_batch(history, month, tag):
    """Refused iff the latest run of some earlier month of the batch did not succeed; other batches never count."""
    from pipelines.resources import unpublished_earlier_month

    runs = [dg.DagsterRun(job_name="j", run_id=f"r{i}", status=status,
                          tags={"dagster/partition": m, tag: "b1"}) for i, (m, status) in enumerate(history)]
    runs += [dg.DagsterRun(job_name="j", run_id="other", status=dg.DagsterRunStatus.FAILURE,
                           tags={"dagster/partition": "2025-12", tag: "b2"})]
    this = dg.DagsterRun(job_name="j", run_id="this", tags={"dagster/partition": month, tag: "b1"})
    latest = {}
    for m, status in reversed(history):  # the runs are listed newest first: the last one of a month is its latest
        latest.setdefault(m, status)
    blocked = any(m < month and s != dg.DagsterRunStatus.SUCCESS for m, s in latest.items())
    assert (unpublished_earlier_month(this, _Runs(list(reversed(runs)))) is not None) == blocked
    # outside a batch nothing is asked
    assert unpublished_earlier_month(dg.DagsterRun(job_name="j", run_id="x", tags={"dagster/partition": month}),
                                     _Runs(runs)) is None
