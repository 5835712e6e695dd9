"""Running the SQL files of sql/ with named parameters (values are always bound, never spliced)."""

from __future__ import annotations

import os
import re
import time

from claimrecon.paths import SQL_DIR

#: CLAIMRECON_PROFILE_SQL=<file>: append each statement's seconds (file, first line, wall, CPU) for profiling.
#: Statement text only: never a parameter value.
_PROFILE = os.environ.get("CLAIMRECON_PROFILE_SQL")

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_END = re.compile(r";[ \t]*(?:--[^\n]*)?\n|;\s*$")


def statements(text: str) -> list[str]:
    out = []
    for chunk in _END.split(text):
        body = "\n".join(ln for ln in chunk.splitlines() if not ln.strip().startswith("--")).strip()
        if body:
            out.append(body)
    return out


def run_script(con, name_or_text: str, params: dict | None = None, frame_of: str | None = None):
    """Execute a sql/ file (or text) statement by statement, binding each only the names it uses.

    ``frame_of``: the statement ``CREATE OR REPLACE TEMP TABLE <frame_of> AS <query>`` is not materialised in
    DuckDB: its query goes straight to a Polars frame, which is returned (no table written and read back)."""
    text = (SQL_DIR / name_or_text).read_text() if name_or_text.endswith(".sql") else name_or_text
    params = params or {}
    frame = None
    head = f"CREATE OR REPLACE TEMP TABLE {frame_of} AS" if frame_of else None
    for stmt in statements(text):
        names = set(_PARAM.findall(stmt))
        missing = names - set(params)
        if missing:
            raise KeyError(f"SQL parameter(s) not given: {', '.join(sorted(missing))}")
        t0, c0 = time.perf_counter(), time.process_time()
        if head and stmt.startswith(head):
            frame = con.sql(stmt[len(head):].lstrip(), params={k: params[k] for k in names} if names else None).pl()
        else:
            con.execute(stmt, {k: params[k] for k in names} if names else None)
        if _PROFILE:  # wall seconds, then CPU seconds of every thread (steadier on a busy machine)
            with open(_PROFILE, "a") as f:
                label = name_or_text if name_or_text.endswith(".sql") else "text"
                f.write(f"{label}\t{stmt.splitlines()[0][:90]}\t{time.perf_counter() - t0:.3f}"
                        f"\t{time.process_time() - c0:.3f}\n")
    if frame_of and frame is None:
        raise KeyError(f"no statement creates {frame_of}")
    return frame


def provider_slices(con, period: str, rows: int, column: str = "o.billing_provider_id") -> list[tuple[str, dict]]:
    """The period's billing providers cut into consecutive ranges of about ``rows`` claim_outcomes rows each, in
    DuckDB's order of the ids, as (SQL condition on ``column``, its parameters ``lo``/``hi``). Lines without
    a provider go with the last range. A query sorted by provider that runs once per range holds a range, not
    the month, and returns the same rows in the same order."""
    counts = con.execute("SELECT billing_provider_id, count(*) FROM claim_outcomes WHERE period = ? "
                         "AND billing_provider_id IS NOT NULL GROUP BY 1 ORDER BY 1", [period]).fetchall()
    starts, held = [], 0
    for pid, n in counts:
        if held >= rows:
            starts.append(pid)
            held = 0
        held += n
    bounds = [None, *starts, None]
    out = []
    for lo, hi in zip(bounds, bounds[1:]):
        cond, params = [], {}
        if lo is not None:
            cond.append(f"{column} >= $lo" if hi is not None else f"({column} >= $lo OR {column} IS NULL)")
            params["lo"] = lo
        if hi is not None:
            cond.append(f"{column} < $hi")
            params["hi"] = hi
        out.append((" AND ".join(cond) or "TRUE", params))
    return out
