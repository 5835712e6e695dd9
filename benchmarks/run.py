"""claimrecon benchmark: `make bench` (or `.venv/bin/python benchmarks/run.py`).

In one run, on the same generated data:
* floor   — DuckDB loading the month's claims, agreement and service-log CSV files into tables, nothing else;
* run     — `claimrecon run` end to end (ingest, every rule, outputs, reports, GX controls, publish) through
            Dagster, in a fresh process, with the peak RSS of that process;
* steps   — each asset's seconds (from the warehouse's run_steps) of the median run;
* county  — the same for one county-scale month;
* demo    — the README's two demo months, each a fresh `claimrecon run`;
* history — twelve county months, and three state months, run in order into one warehouse, each month's time.

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


def month(scale: str, runs: int, seed: int) -> dict:
    """One generated month of `scale`: the floor and the run, `runs` times each, alternating."""
    inbox = generate(scale, 1, seed)
    period = "2026-01"
    floors, secs, rss, all_steps = [], [], [], []
    for i in range(runs):
        floors.append(floor(inbox, period))
        wh = DATA / f"wh-{scale}" / "claimrecon.duckdb"
        shutil.rmtree(wh.parent, ignore_errors=True)
        s, kb, steps = run_once(inbox, period, wh)
        secs.append(s)
        rss.append(kb)
        all_steps.append(steps)
        print(f"{scale} run {i + 1}: floor {floors[-1]:.1f} s, run {s:.1f} s, peak RSS {kb / 1024 / 1024:.2f} GiB", flush=True)
    shutil.rmtree(DATA / f"wh-{scale}", ignore_errors=True)
    f_med, r_med = statistics.median(floors), statistics.median(secs)
    return {"scale": scale, "floors": floors, "runs": secs, "rss": rss, "floor": f_med, "run": r_med,
            "steps": all_steps[secs.index(sorted(secs)[len(secs) // 2])]}


def history(scale: str, months: int, seed: int) -> list[tuple]:
    """`months` generated months run in order into one warehouse: each month's seconds, lines and warehouse size."""
    inbox = generate(scale, months, seed, "2025-01")
    wh = DATA / f"hist-{scale}" / "claimrecon.duckdb"
    shutil.rmtree(wh.parent, ignore_errors=True)
    out = []
    for k in range(months):
        p = f"{2025 + k // 12}-{k % 12 + 1:02d}"
        s, kb, steps = run_once(inbox, p, wh)
        out.append((p, s, kb, steps["_lines"], wh.resolve().stat().st_size))
        print(f"history {scale} {p}: {s:.1f} s", flush=True)
    shutil.rmtree(wh.parent, ignore_errors=True)
    return out


def _gib(kb: float) -> str:
    return f"{kb / 1024 / 1024:.2f} GiB"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="state")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--county-runs", type=int, default=3)
    ap.add_argument("--history-months", type=int, default=12)
    ap.add_argument("--state-history-months", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results.md"))
    a = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    big = month(a.scale, a.runs, 5)
    county = month("county", a.county_runs, 5)
    demo_inbox = generate("demo", 2, 7)  # the README's main job: `claimrecon demo` runs these two months
    demo_wh = DATA / "demo" / "claimrecon.duckdb"
    shutil.rmtree(demo_wh.parent, ignore_errors=True)
    demo = [(p, run_once(demo_inbox, p, demo_wh)[0]) for p in ("2026-01", "2026-02")]
    print("demo: " + ", ".join(f"{p} {s:.1f} s" for p, s in demo), flush=True)
    series = [("county", history("county", a.history_months, 9))]
    if a.state_history_months:
        series.append((a.scale, history(a.scale, a.state_history_months, 9)))
    steps = big["steps"]
    lines = [
        "# Benchmark results", "",
        f"Measured {dt.date.today()} by `make bench` (benchmarks/run.py) on {machine()}.", f"{versions()}.",
        "Every figure below comes from that one run: ratios are against a floor measured in the same run.", "",
        "## Headline", "",
        "| measure | seconds | floor | ratio | target |", "| --- | --- | --- | --- | --- |",
        f"| {a.scale} month ({steps['_lines']:,} claim lines), median of {a.runs} | {big['run']:.1f} | {big['floor']:.1f} | "
        f"**{big['run'] / big['floor']:.1f}×** | ≤ 6× |",
        f"| county month ({county['steps']['_lines']:,} claim lines), median of {a.county_runs} | {county['run']:.1f} | "
        f"{county['floor']:.1f} | **{county['run'] / county['floor']:.1f}×** | ≤ 6× |",
        *[f"| demo month {p} | {s:.1f} | | | < 6 s |" for p, s in demo],
        *[f"| history: {scale} month {len(h)} / month 1 ({len(h)} months in order) | {h[-1][1]:.1f} / {h[0][1]:.1f} | | "
          f"**{h[-1][1] / h[0][1]:.2f}×** | ≤ 1.15× |" for scale, h in series],
        "",
        f"Peak RSS of the {a.scale} month: {_gib(statistics.median(big['rss']))} (median; max {_gib(max(big['rss']))}; "
        f"target ≤ 3 GiB). County month: {_gib(statistics.median(county['rss']))}.", "",
        f"The floor is DuckDB's fastest plain load of the month's claims, agreement and service-log CSV files as text "
        f"(declared columns, no sniffing, nothing checked or typed). Every {a.scale} run: "
        + ", ".join(f"{x:.1f} s" for x in big["runs"]) + "; floors: " + ", ".join(f"{x:.1f} s" for x in big["floors"]) + ".",
        "", f"### Seconds per asset, {a.scale} month (median run)", "",
        "| step | seconds | share of run |", "| --- | --- | --- |"]
    for k, v in sorted(steps.items(), key=lambda kv: -kv[1] if kv[0] != "_lines" else 0):
        if k != "_lines":
            lines.append(f"| {k} | {v:.1f} | {100 * v / big['run']:.0f} % |")
    lines += ["", "(The rest of the run is process start-up, Dagster's own work, publishing and the balance display.)", "",
              "### Seconds per asset, county month (median run)", "", "| step | seconds |", "| --- | --- |"]
    for k, v in sorted(county["steps"].items(), key=lambda kv: -kv[1] if kv[0] != "_lines" else 0):
        if k != "_lines":
            lines.append(f"| {k} | {v:.1f} |")
    for scale, h in series:
        lines += ["", f"## History: {len(h)} {scale}-scale months in order into one warehouse", "",
                  "| period | seconds | claim lines | peak RSS | warehouse size (MB) |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {p} | {s:.1f} | {n:,} | {_gib(kb)} | {size / 1e6:.0f} |" for p, s, kb, n, size in h]
        lines += ["", f"Month {len(h)} / month 1: **{h[-1][1] / h[0][1]:.2f}×**."]
    # a one-off measurement kept with the results (issue 12): not re-measured by make bench
    lines += ["", (ROOT / "benchmarks" / "revision2_cost.md").read_text().rstrip(), ""]
    Path(a.out).write_text("\n".join(lines))
    print("\n".join(lines))
    print(json.dumps({"floor": big["floors"], "run": big["runs"], "rss_kb": big["rss"],
                      "county_floor": county["floors"], "county_run": county["runs"]}))


if __name__ == "__main__":
    main()
