"""Past one process: two independent partitions (the same month for two regions, each with its own inbox
and warehouse) materialize at the same time on Dagster's multiprocess executor, and every output row
equals a serial, in-process run of the same inputs (docs/scaling.md)."""

import threading

import dagster as dg
import pytest

from claimrecon.generator import generate
from claimrecon.runner import run_period
from pipelines import parallel
from tests.rows import TABLES
from tests.rows import output_rows as _rows

REGIONS = {"north": 21, "south": 22}  # region -> generator seed: different people, providers and faults
PERIOD = "2026-01"


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    root = tmp_path_factory.mktemp("regions")
    for region, seed in REGIONS.items():
        generate(root / region / "inbox", months=1, seed=seed, scale="demo")
    return root


def test_two_partitions_in_parallel_on_the_multiprocess_executor_equal_a_serial_run(regions, tmp_path):
    # serial: one after the other, in process (the CLI's way)
    serial = {}
    for region in REGIONS:
        serial[region] = tmp_path / "serial" / region / "claimrecon.duckdb"
        run_period(regions / region / "inbox", PERIOD, serial[region])

    # parallel: two runs at once, each step of each run in its own process
    results, errors = {}, []
    parallel_wh = {r: tmp_path / "parallel" / r / "claimrecon.duckdb" for r in REGIONS}

    def launch(region):
        try:
            home = tmp_path / "dagster_home" / region
            home.mkdir(parents=True)
            with dg.DagsterInstance.local_temp(str(home)) as inst:
                res = parallel.execute(PERIOD, str(regions / region / "inbox"), str(parallel_wh[region]), inst)
                logs = [e for e in inst.all_logs(res.run_id) if e.dagster_event and e.step_key]
                steps = [(e.step_key, e.dagster_event.event_type_value, e.timestamp) for e in logs]
                pids = {e.dagster_event.pid for e in logs if e.dagster_event.event_type_value == "STEP_START"}
                results[region] = (res.success, steps, pids)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"{region}: {exc!r}")

    threads = [threading.Thread(target=launch, args=(r,)) for r in REGIONS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    assert all(results[r][0] for r in REGIONS), results

    # each step ran in a child process of its own, and the two runs overlapped in time
    for region in REGIONS:
        _, steps, pids = results[region]
        assert len({s[0] for s in steps}) >= 10 and len(pids) >= 10
    spans = {r: (min(s[2] for s in results[r][1]), max(s[2] for s in results[r][1])) for r in REGIONS}
    (a0, a1), (b0, b1) = spans.values()
    assert max(a0, b0) < min(a1, b1), spans

    # the same rows, table by table, as the serial runs
    for region in REGIONS:
        got, want = _rows(parallel_wh[region]), _rows(serial[region])
        assert all(len(want[t]) > 0 for t in ("claim_outcomes", "denial_ledger", "log_billability", "findings"))
        for t in TABLES:
            assert got[t] == want[t], (region, t)
    # and the regions are really different inputs
    assert _rows(serial["north"])["claim_outcomes"] != _rows(serial["south"])["claim_outcomes"]
