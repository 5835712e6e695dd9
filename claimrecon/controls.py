"""Great Expectations control checks of a period, with Data Docs written beside the reports.

Three suites, each over a small frame computed in the warehouse (GX validates pandas frames; its
DuckDB path does not work with DuckDB 2.0, and small frames keep a state-scale month cheap):

* ``file_controls`` — per input file: loaded + rejected = detail lines; the trailer's count equals
  the detail lines; for claim files the trailer's total equals loaded plus rejected dollars.
* ``balance`` — per period × provider × program × service: billed = paid + denied + rejected, and
  the period's claim lines equal the lines loaded plus the lines rejected.
* ``judged_once`` — no claim line (file, row) appears twice in claim_outcomes.

GX is imported here, inside the check, because importing it costs seconds; :func:`preload` starts that
import on a background thread while the reports step writes its files (DuckDB and file work that leaves
the interpreter free), and :func:`run` waits for it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

SUITES = ("file_controls", "balance", "judged_once")


@dataclass
class ControlResult:
    suite: str
    success: bool
    failed: list[str]  # "expectation: column (n unexpected)"
    checks: list[dict] = field(default_factory=list)  # every expectation: what, column, rows, passed, observed


SUITE_TITLES = {"file_controls": "File control totals", "balance": "Balance", "judged_once": "No line judged twice"}
EXPLAIN = {
    "conservation_diff": "detail lines − loaded − rejected, per file",
    "trailer_count_diff": "trailer count − detail lines, per file",
    "trailer_total_diff": "trailer total − (loaded + rejected dollars), per claim file",
    "source_file": "each file checked once",
    "difference": "billed − paid − denied − rejected, per provider × program × service",
    "lines_diff": "claim lines − lines loaded − lines rejected, for the period",
    "table": "claim lines that appear more than once",
}


BITMAP_ROWS = 100_000_000  # widest range of source rows proven distinct by a bitmap (12.5 MB a file)


def _judged_once(con, period: str) -> bool:
    """True when no (file, row, row type) is in claim_outcomes twice, proven by a bitmap of each file's source
    rows (one bit per row number: distinct rows = set bits), a tenth of the cost of grouping the month's lines.
    False when that cannot be shown (a duplicate, a missing row number, rows too far apart): then the
    judged_once frame is computed by grouping, and lists the duplicates."""
    lo, hi, missing = con.execute("SELECT min(source_row), max(source_row), count(*) - count(source_row) "
                                  "FROM claim_outcomes WHERE period = ?", [period]).fetchall()[0]
    if lo is None or missing or hi - lo >= BITMAP_ROWS:
        return lo is None and not missing  # no lines at all: nothing can be twice
    rows = con.execute("""SELECT count(*) = bit_count(bitstring_agg(source_row, $lo, $hi)) FROM claim_outcomes
                          WHERE period = $p GROUP BY source_file, row_type""", {"p": period, "lo": lo, "hi": hi}).fetchall()
    return all(r[0] for r in rows)


def _frames(con, period: str) -> dict:
    p = {"p": period}
    files = con.sql("""
        SELECT f.source_file, f.kind,
               f.detail_lines - f.loaded_rows - f.rejected_rows AS conservation_diff,
               CASE WHEN f.control_count IS NOT NULL THEN f.control_count - f.detail_lines END AS trailer_count_diff,
               CASE WHEN f.kind = 'claims' THEN
                    f.control_total - coalesce(f.loaded_total, 0) - coalesce(f.rejected_total,
                      (SELECT sum(r.billed_amount) FROM claims_rejected r
                       WHERE r.period = f.period AND r.source_file = f.source_file), 0) END AS trailer_total_diff
        FROM input_files f WHERE f.period = $p AND f.status = 'loaded' ORDER BY f.source_file""", params=p).df()
    balance = con.sql("""
        SELECT billing_provider_id, waiver_program, service,
               billed_amount - paid_amount - denied_amount - rejected_amount AS difference
        FROM reconciliation_summary WHERE period = $p ORDER BY ALL""", params=p).df()
    counts = con.sql("""
        SELECT (SELECT count(*) FROM claim_outcomes WHERE period = $p AND row_type = 'line')
             - (SELECT count(*) FROM claims WHERE period = $p)
             - (SELECT count(*) FROM claims_rejected WHERE period = $p) AS lines_diff""", params=p).df()
    twice = con.sql("""
        SELECT source_file, source_row, row_type, count(*) AS times FROM claim_outcomes WHERE period = $p AND $look
        GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL""", params={**p, "look": not _judged_once(con, period)}).df()
    for df in (files, balance, counts):
        for col in df.columns:
            if str(df[col].dtype) == "object" and col.endswith(("diff", "difference")):
                df[col] = df[col].astype("float64")  # DECIMALs arrive as Python Decimal objects
    return {"file_controls": files, "balance": balance, "balance_counts": counts, "judged_once": twice}


_preloading: threading.Thread | None = None
_preload_lock = threading.Lock()


def _environment() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # never call home
    os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars on the run's output


def _import_gx() -> None:
    try:
        import great_expectations  # noqa: F401
        import great_expectations.expectations  # noqa: F401
        from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: F401
    except Exception:  # noqa: BLE001 - run() imports again on its own thread and reports the error there
        pass


def preload() -> None:
    """Start importing Great Expectations (seconds of Python) on a background thread, once per process, so
    it overlaps work that does not need the interpreter; :func:`run` waits for it."""
    global _preloading
    with _preload_lock:
        if _preloading is None:
            _environment()
            _preloading = threading.Thread(target=_import_gx, name="claimrecon-gx-import", daemon=True)
            _preloading.start()


def run(con, period: str, docs_dir: Path) -> list[ControlResult]:
    """Validate the period; write Data Docs under ``docs_dir``. Returns one result per suite."""
    _environment()
    if _preloading is not None:
        _preloading.join()
    import great_expectations as gx
    import great_expectations.expectations as gxe

    frames = _frames(con, period)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    ctx.add_data_docs_site(site_name="claimrecon", site_config={
        "class_name": "SiteBuilder", "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)}})
    source = ctx.data_sources.add_pandas("claimrecon")
    plan = {
        "file_controls": ("file_controls", [
            gxe.ExpectColumnValuesToBeInSet(column="conservation_diff", value_set=[0]),
            gxe.ExpectColumnValuesToBeInSet(column="trailer_count_diff", value_set=[0]),
            gxe.ExpectColumnValuesToBeInSet(column="trailer_total_diff", value_set=[0]),
            gxe.ExpectColumnValuesToBeUnique(column="source_file")]),
        "balance": ("balance", [gxe.ExpectColumnValuesToBeInSet(column="difference", value_set=[0])]),
        "balance_counts": ("balance", [gxe.ExpectColumnValuesToBeInSet(column="lines_diff", value_set=[0])]),
        "judged_once": ("judged_once", [gxe.ExpectTableRowCountToEqual(value=0)]),
    }
    validations = []
    for frame_name, (suite_name, expectations) in plan.items():
        asset = source.add_dataframe_asset(frame_name)
        suite = ctx.suites.add(gx.ExpectationSuite(name=f"{frame_name}_{period}"))
        for e in expectations:
            suite.add_expectation(e)
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(
            name=f"{frame_name}_{period}", data=asset.add_batch_definition_whole_dataframe("period"), suite=suite))
        validations.append((suite_name, vd, frames[frame_name]))
    results: dict[str, ControlResult] = {s: ControlResult(s, True, []) for s in SUITES}
    for suite_name, vd, frame in validations:
        res = vd.run(batch_parameters={"dataframe": frame})
        for r in res.results:
            col = r.expectation_config.kwargs.get("column", "table")
            observed = r.result.get("unexpected_count", r.result.get("observed_value"))
            results[suite_name].checks.append({
                "expectation": r.expectation_config.type, "column": col, "what": EXPLAIN.get(col, col),
                "rows": len(frame), "passed": bool(r.success), "observed": observed})
            if not r.success:
                results[suite_name].success = False
                col = r.expectation_config.kwargs.get("column", "table")
                results[suite_name].failed.append(
                    f"{r.expectation_config.type}: {col} ({r.result.get('unexpected_count', r.result.get('observed_value'))})")
    ctx.build_data_docs(site_names=["claimrecon"])
    out = [results[s] for s in SUITES]
    write_page(period, out, frames["file_controls"], Path(docs_dir).parent / "controls.html")
    return out


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>claimrecon control checks {{ period }}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; color: #1b1f24; }
h1 { font-size: 1.5rem } h2 { border-bottom: 2px solid #dde4ee; padding-bottom: .2rem; margin-top: 1.6rem }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem }
th, td { padding: .25rem .5rem; border-bottom: 1px solid #e5e8ec; text-align: left; vertical-align: top }
th { background: #f2f5f9 } td.n { text-align: right; font-variant-numeric: tabular-nums }
.pass { color: #1a7f37; font-weight: 600 } .fail { color: #c62828; font-weight: 600 } .muted { color: #57606a }
@media print { body { margin: 0; max-width: none; font-size: 11px } tr { break-inside: avoid } }
</style></head><body>
<h1>Control checks — claims received {{ period }}</h1>
<p class="{{ 'pass' if ok else 'fail' }}" id="verdict">{{ 'Every control check passed.' if ok else 'A control check FAILED: the run publishes nothing.' }}</p>
<p class="muted">The same checks as the Great Expectations Data Docs (data_docs/index.html), on a page that needs no network.</p>
{% for r in results %}<h2>{{ titles[r.suite] }} <span class="{{ 'pass' if r.success else 'fail' }}">{{ '✓ passed' if r.success else '✗ failed' }}</span></h2>
<table class="checks"><thead><tr><th>check</th><th>what must hold</th><th class="n">rows checked</th><th class="n">unexpected</th><th>result</th></tr></thead><tbody>
{% for c in r.checks %}<tr><td>{{ c.expectation }}</td><td>{{ c.what }}</td><td class="n">{{ c.rows }}</td><td class="n">{{ c.observed if c.observed is not none else '' }}</td><td class="{{ 'pass' if c.passed else 'fail' }}">{{ 'passed' if c.passed else 'FAILED' }}</td></tr>
{% endfor %}</tbody></table>{% endfor %}
<h2>Files</h2>
<table id="files"><thead><tr><th>file</th><th>kind</th><th class="n">lines − loaded − rejected</th><th class="n">trailer count − lines</th><th class="n">trailer total − dollars</th></tr></thead><tbody>
{% for f in files %}<tr><td>{{ f.source_file }}</td><td>{{ f.kind }}</td><td class="n">{{ f.conservation_diff }}</td><td class="n">{{ f.trailer_count_diff if f.trailer_count_diff is not none else '' }}</td><td class="n">{{ f.trailer_total_diff if f.trailer_total_diff is not none else '' }}</td></tr>
{% endfor %}</tbody></table>
</body></html>
"""


def _num(v):
    """Frame values as they read: 0 not 0.0, empty for not applicable (NaN)."""
    if v is None or v != v:
        return None
    return int(v) if float(v).is_integer() else v


def write_page(period: str, results: list[ControlResult], files, path: Path) -> Path:
    """The control checks on one self-contained page: inline styles, no script, nothing from the network."""
    import jinja2

    rows = [{k: (_num(v) if k.endswith("diff") else v) for k, v in r.items()} for r in files.to_dict("records")]
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    path.write_text(env.from_string(PAGE).render(period=period, results=results, files=rows, titles=SUITE_TITLES,
                                                 ok=all(r.success for r in results)), encoding="utf-8")
    return path
