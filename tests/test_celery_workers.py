"""Past one machine on Celery workers (docs/scaling.md): a real Redis broker (Debian's redis-server on a free
loopback port) and two `dagster-celery` workers, each a process group of its own. Two regions (each its own inbox
and warehouse) run their months through the workers — months of a region in order, the regions side by side —
and every output row equals the serial, in-process run. The figures are printed and kept in docs/scaling.md."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from claimrecon.generator import generate
from claimrecon.runner import dagster_home, run_period
from tests.rows import TABLES, output_rows

BIN = Path(sys.executable).parent
REGIONS = {"north": 41, "south": 42}  # region -> generator seed: different people, providers and faults
MONTHS = ["2026-01", "2026-02"]
WORKERS = ("claims-a", "claims-b")

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None and not os.environ.get("CI"),
                                reason="redis-server is not installed (CI installs it: .ci/run)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """End a process group this test started, by its id: politely, then for sure."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.fixture
def broker(tmp_path):
    """redis-server on a free loopback port, nothing persisted."""
    port = _free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.2)
        yield f"redis://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture
def workers(broker, tmp_path):
    """Two Celery workers, one process each (concurrency 1), as `dagster-celery worker start` runs them."""
    home = dagster_home(tmp_path / "celery" / "claimrecon.duckdb")
    with dg.DagsterInstance.from_config(str(home)) as inst:  # its SQLite files, created once here, not in a race
        inst.get_runs()
        inst.event_log_storage.get_asset_records()
    config = tmp_path / "celery.yaml"
    config.write_text(f"execution:\n  config:\n    broker: {broker}/0\n    backend: {broker}/1\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    procs = []
    try:
        for name in WORKERS:
            log = open(tmp_path / f"worker-{name}.log", "w")
            procs.append(subprocess.Popen(
                [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config),
                 "-n", name, "--loglevel", "WARNING", "--", "--concurrency=1", "--pool=prefork"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            log.close()
        from celery import Celery
        app = Celery(broker=f"{broker}/0", backend=f"{broker}/1")
        deadline = time.monotonic() + 120
        while len(app.control.ping(timeout=1) or []) < len(WORKERS):
            assert all(p.poll() is None for p in procs), (tmp_path / f"worker-{WORKERS[0]}.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the Celery workers did not answer"
        yield {"home": home, "broker": f"{broker}/0", "backend": f"{broker}/1"}
    finally:
        for p in procs:
            _stop(p)


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    root = tmp_path_factory.mktemp("celery_regions")
    for region, seed in REGIONS.items():
        generate(root / region / "inbox", months=len(MONTHS), seed=seed, scale="demo")
    return root


def test_two_regions_months_on_two_celery_workers_equal_the_serial_run(regions, workers, tmp_path):
    # serial: in process, region after region, month after month (the CLI's way)
    serial, t0 = {}, time.perf_counter()
    for region in REGIONS:
        serial[region] = tmp_path / "serial" / region / "claimrecon.duckdb"
        for month in MONTHS:
            run_period(regions / region / "inbox", month, serial[region])
    serial_seconds = time.perf_counter() - t0

    # Celery: one orchestrator process per region submits its months in order; the steps run on the two workers
    celery_wh = {r: tmp_path / "celery" / r / "claimrecon.duckdb" for r in REGIONS}
    env = {**os.environ, "DAGSTER_HOME": str(workers["home"])}
    t0 = time.perf_counter()
    orchestrators = {}
    try:
        for region in REGIONS:
            orchestrators[region] = subprocess.Popen(
                [sys.executable, "-m", "pipelines.distributed", "--inbox", str(regions / region / "inbox"),
                 "--warehouse", str(celery_wh[region]), "--broker", workers["broker"], "--backend", workers["backend"],
                 *MONTHS], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        outputs = {r: p.communicate(timeout=900) for r, p in orchestrators.items()}
    finally:
        for p in orchestrators.values():
            _stop(p)
    celery_seconds = time.perf_counter() - t0
    results = {}
    for region, (out, err) in outputs.items():
        assert orchestrators[region].returncode == 0, err[-3000:]
        for line in out.splitlines():
            run = json.loads(line)
            results[(region, run["period"])] = run["success"], run["run_id"]
    assert len(results) == len(REGIONS) * len(MONTHS) and all(ok for ok, _ in results.values()), results

    # where the steps ran: Celery worker processes (not this one), more than one of them, both workers
    with dg.DagsterInstance.from_config(str(workers["home"])) as inst:
        starts, hosts, spans = [], set(), {}
        for (region, month), (_, run_id) in results.items():
            logs = inst.all_logs(run_id)
            starts += [e for e in logs if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"]
            hosts |= {e.dagster_event.engine_event_data.metadata["Celery worker"].value for e in logs
                      if e.dagster_event and e.dagster_event.event_type_value == "ENGINE_EVENT"
                      and "Celery worker" in (e.dagster_event.engine_event_data.metadata or {})}
            stamps = [e.timestamp for e in logs if e.step_key]
            spans[(region, month)] = (min(stamps), max(stamps))
            assert inst.get_run_by_id(run_id).tags["dagster/partition"] == month
    pids = {e.dagster_event.pid for e in starts}
    steps = {(e.run_id, e.step_key) for e in starts}
    assert len(steps) == len(starts) >= len(results) * 12  # every step of every run, once
    assert os.getpid() not in pids and len(pids) >= 2, pids
    assert {h.split("@")[0] for h in hosts} == set(WORKERS), hosts
    # a region's months in order; the two regions side by side
    for region in REGIONS:
        assert spans[(region, MONTHS[0])][1] <= spans[(region, MONTHS[1])][0]
    (a0, a1), (b0, b1) = [(spans[(r, MONTHS[0])][0], spans[(r, MONTHS[-1])][1]) for r in REGIONS]
    assert max(a0, b0) < min(a1, b1), spans

    # the same rows, table by table, as the serial runs; and the regions are really different inputs
    for region in REGIONS:
        got, want = output_rows(celery_wh[region]), output_rows(serial[region])
        assert all(len(want[t]) > 0 for t in ("claim_outcomes", "denial_ledger", "log_billability", "findings"))
        for t in TABLES:
            assert got[t] == want[t], (region, t)
    assert output_rows(serial["north"])["claim_outcomes"] != output_rows(serial["south"])["claim_outcomes"]
    with dg.DagsterInstance.from_config(str(workers["home"])) as inst:
        walls = [inst.get_run_stats(run_id).end_time - inst.get_run_stats(run_id).start_time
                 for _, run_id in results.values()]
        in_steps = [sum(st.end_time - st.start_time for st in inst.get_run_step_stats(run_id))
                    for _, run_id in results.values()]
    print(f"\n{len(results)} runs ({len(REGIONS)} regions x {len(MONTHS)} months, demo scale): in process, serial "
          f"{serial_seconds:.1f} s; on {len(WORKERS)} Celery workers {celery_seconds:.1f} s, {len(starts)} steps "
          f"in {len(pids)} worker processes; a Celery run {sum(walls) / len(walls):.1f} s of which "
          f"{sum(in_steps) / len(in_steps):.1f} s inside its steps")
