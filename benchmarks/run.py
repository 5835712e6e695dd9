"""claimrecon benchmark: `make bench` (or `.venv/bin/python benchmarks/run.py`).

In one run, on the same generated data:
* floor   — DuckDB loading the month's claims, agreement and service-log CSV files into tables, nothing else;
* run     — `claimrecon run` end to end (ingest, every rule, outputs, reports, GX controls, publish) through
            Dagster, in a fresh process, with the peak RSS of that process;
* steps   — each asset's seconds (from the warehouse's run_steps) of the median run;
* history — twelve months run in order into one warehouse (county scale), each month's time.

Headline: run / floor, medians of --runs runs. Results go to benchmarks/results.md (committed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data"
CLI = [sys.executable, "-m", "claimrecon.cli"]
RSS_WRAPPER = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)")


def generate(scale: str, months: int, seed: int, start: str = "2026-01") -> Path:
    out = DATA / f"{scale}-{months}m-{seed}-{start}"
    if not (out / "ground_truth.csv").exists():
        subprocess.run([*CLI, "generate", "--out", str(out), "--months", str(months), "--seed", str(seed),
                        "--scale", scale, "--start", start], check=True, stdout=subprocess.DEVNULL)
    return out


def _columns(kind: str) -> str:
    from contracts.front_end import columns
    return "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns(kind)) + "}"


def floor(inbox: Path, period: str) -> float:
    """DuckDB's fastest plain load of the month's three inputs: every column as text, the data dictionary's
    column names given (no sniffing), one glob for the provider log files. Nothing is checked or typed."""
    db = DATA / "floor.duckdb"
    db.unlink(missing_ok=True)
    root = inbox / period
    t0 = time.perf_counter()
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    for table, kind, glob, delim in (("claims", "claims", "claims/*.txt", "|"),
                                     ("sa", "authorizations", "authorizations/*.txt", "|"),
                                     ("logs", "service_logs", "service_logs/evv_*.csv", ",")):
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv($f, header=true, auto_detect=false, "
                    f"columns={_columns(kind)}, delim='{delim}', quote='\"', null_padding=true, ignore_errors=true)",
                    {"f": str(root / glob)})
    con.close()
    seconds = time.perf_counter() - t0
    db.unlink(missing_ok=True)
    return seconds


def run_once(inbox: Path, period: str, wh: Path) -> tuple[float, int, dict]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RSS_WRAPPER, *CLI, "run", "--inbox", str(inbox), "--period", period,
                           "--warehouse", str(wh)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"run failed: {proc.stderr[-500:]}")
    rss_kb = int(proc.stderr.strip().splitlines()[-1])
    con = duckdb.connect(str(wh), read_only=True)
    steps = dict(con.execute("""SELECT step, seconds FROM run_steps WHERE run_id =
        (SELECT run_id FROM runs WHERE period = ? ORDER BY finished_at DESC LIMIT 1) ORDER BY step""", [period]).fetchall())
    lines = con.execute("SELECT count(*) FROM claim_outcomes WHERE period = ?", [period]).fetchone()[0]
    con.close()
    steps["_lines"] = lines
    return seconds, rss_kb, steps


def versions() -> str:
    import dagster, pandera, polars  # noqa: E401
    return (f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, Polars {polars.__version__}, "
            f"Dagster {dagster.__version__}, Pandera {pandera.__version__}")


def machine() -> str:
    mem = next((ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")), "?")
    return f"{os.cpu_count()} cores, {int(mem) / 1024 / 1024:.0f} GiB RAM, {platform.system()} {platform.machine()}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="state")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--history-scale", default="county")
    ap.add_argument("--history-months", type=int, default=12)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results.md"))
    a = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    inbox = generate(a.scale, 1, 5)
    period = "2026-01"
    floors, runs, rss, all_steps = [], [], [], []
    for i in range(a.runs):
        floors.append(floor(inbox, period))
        wh = DATA / "wh" / "claimrecon.duckdb"
        shutil.rmtree(wh.parent, ignore_errors=True)
        s, kb, steps = run_once(inbox, period, wh)
        runs.append(s)
        rss.append(kb)
        all_steps.append(steps)
        print(f"run {i + 1}: floor {floors[-1]:.1f} s, run {s:.1f} s, peak RSS {kb / 1024 / 1024:.2f} GiB", flush=True)
    f_med, r_med = statistics.median(floors), statistics.median(runs)
    med_steps = all_steps[runs.index(sorted(runs)[len(runs) // 2])]
    demo_inbox = generate("demo", 2, 7)  # the README's main job: `claimrecon demo` runs these two months
    demo_wh = DATA / "demo" / "claimrecon.duckdb"
    shutil.rmtree(demo_wh.parent, ignore_errors=True)
    demo = [(p, run_once(demo_inbox, p, demo_wh)[0]) for p in ("2026-01", "2026-02")]
    print("demo: " + ", ".join(f"{p} {s:.1f} s" for p, s in demo), flush=True)
    hist_inbox = generate(a.history_scale, a.history_months, 9, "2025-01")  # twelve complete partitions
    hist_wh = DATA / "hist" / "claimrecon.duckdb"
    shutil.rmtree(hist_wh.parent, ignore_errors=True)
    history = []
    for k in range(a.history_months):
        p = f"{2025 + k // 12}-{k % 12 + 1:02d}"
        s, kb, steps = run_once(hist_inbox, p, hist_wh)
        history.append((p, s, kb, steps["_lines"], hist_wh.stat().st_size))
        print(f"history {p}: {s:.1f} s", flush=True)
    lines = [
        "# Benchmark results", "",
        f"Measured {dt.date.today()} by `make bench` (benchmarks/run.py) on {machine()}.", f"{versions()}.", "",
        f"## One {a.scale}-scale month ({med_steps['_lines']:,} claim lines), medians of {a.runs} runs", "",
        "| measure | seconds | ratio to floor |", "| --- | --- | --- |",
        f"| floor: DuckDB loads the claims, agreement and service-log CSVs as text (no checks) | {f_med:.1f} | 1.0× |",
        f"| `claimrecon run` end to end through Dagster | {r_med:.1f} | **{r_med / f_med:.1f}×** |", "",
        f"Peak RSS of the run: {statistics.median(rss) / 1024 / 1024:.2f} GiB (median; max "
        f"{max(rss) / 1024 / 1024:.2f} GiB). Every run: " + ", ".join(f"{x:.1f} s" for x in runs) + ".", "",
        "### Seconds per asset (median run)", "", "| step | seconds | share of run |", "| --- | --- | --- |"]
    for k, v in sorted(med_steps.items(), key=lambda kv: -kv[1] if kv[0] != "_lines" else 0):
        if k != "_lines":
            lines.append(f"| {k} | {v:.1f} | {100 * v / r_med:.0f} % |")
    lines += ["", "(The rest of the run is process start-up, Dagster's own work and the balance display.)", "",
              "## Demo months (the README's main job), each a fresh `claimrecon run` process", "",
              "| period | seconds |", "| --- | --- |", *[f"| {p} | {s:.1f} |" for p, s in demo], "",
              f"## History: {a.history_months} {a.history_scale}-scale months in order into one warehouse", "",
              "| period | seconds | claim lines | warehouse size (MB) |", "| --- | --- | --- | --- |"]
    for p, s, kb, n, size in history:
        lines.append(f"| {p} | {s:.1f} | {n:,} | {size / 1e6:.0f} |")
    lines += ["", f"Month {a.history_months} / month 1: **{history[-1][1] / history[0][1]:.2f}×**.", ""]
    Path(a.out).write_text("\n".join(lines))
    print("\n".join(lines))
    print(json.dumps({"floor": floors, "run": runs, "rss_kb": rss}))


if __name__ == "__main__":
    main()
