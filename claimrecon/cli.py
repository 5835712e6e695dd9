"""claimrecon command line: every subcommand runs the same Dagster assets, never a side path."""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from claimrecon import progress
from claimrecon.errors import ClaimreconError, debug_traceback, describe_error, printable

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Medicaid HCBS waiver claims reconciliation.",
                  pretty_exceptions_show_locals=False)  # locals hold whole months of records (size, PHI)
DEFAULT_WAREHOUSE = Path("warehouse/claimrecon.duckdb")


def console(stderr: bool = False) -> Console:
    """A terminal gets rich output at its width; a log (cron, CI, a pipe) gets lines that are never
    wrapped, so a path stays on one line and can be copied."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, soft_wrap=True, width=max(int(os.environ.get("COLUMNS") or 0), 200))


out = console()
err = console(stderr=True)


class RichReporter(progress.Reporter):
    def __init__(self, console: Console):
        self.console = console
        self.status = None

    def start(self, step: str) -> None:
        self.status = self.console.status(f"[bold]{step}[/] …")
        self.status.start()

    def update(self, step: str, done: int, total: int, unit: str) -> None:
        if self.status:
            self.status.update(f"[bold]{step}[/] … {done:,} of {total:,} {unit}")

    def done(self, step: str, seconds: float, detail: str = "") -> None:
        if self.status:
            self.status.stop()
        self.console.print(f"  [green]✓[/] {step:<24} {seconds:6.2f} s  {detail}")


def _balance(totals: dict, period: str) -> Table:
    t = Table(title=f"Balance {period}", show_header=True)
    t.add_column("")
    t.add_column("lines", justify="right")
    t.add_column("dollars", justify="right")
    denied = totals["adjusted_amount"] - totals["rejected_amount"]
    t.add_row("billed", f"{totals['claim_lines']:,}", f"{totals['billed_amount']:,.2f}")
    t.add_row("paid", f"{totals['paid_lines'] + totals['partial_lines']:,}", f"{totals['paid_amount']:,.2f}")
    t.add_row("denied / reduced / reversed", f"{totals['denied_lines'] + totals['partial_lines']:,}", f"{denied:,.2f}")
    t.add_row("rejected (FE)", f"{totals['rejected_lines']:,}", f"{totals['rejected_amount']:,.2f}")
    ok = totals["billed_amount"] == totals["paid_amount"] + totals["adjusted_amount"]
    t.caption = ("billed = paid + denied + rejected  ✓ balanced to the cent" if ok else "NOT BALANCED")
    return t


def _shown(text) -> str:
    """A file name or record text for the terminal: control characters escaped, no rich markup."""
    from rich.markup import escape

    from claimrecon.errors import printable
    return escape(printable(text))


def _run(inbox: Path, period: str, warehouse: Path, reports: Path | None = None, show_ids: bool = False) -> dict:
    from claimrecon.runner import run_period

    out.print(f"[bold]claimrecon[/] run {period}  inbox={_shown(inbox)}  warehouse={_shown(warehouse)}")
    t0 = time.perf_counter()
    progress.reporter = RichReporter(out)
    result = run_period(inbox, period, warehouse, reports_dir=reports or "", show_recipient_ids=show_ids)
    out.print(_balance(result.totals, period))
    if result.not_read:  # every inbox entry is accounted for: those not read (or read with a problem) and why
        out.print(f"{len(result.not_read)} inbox file(s) not read, or read with a problem (input_files):")
        for name, status, reason in result.not_read:
            out.print(f"  {status:<9} {_shown(name)}: {_shown(reason)}")
    out.print(f"published {result.warehouse} in {time.perf_counter() - t0:.1f} s")
    out.print(f"Dagster run {result.run_id} recorded in DAGSTER_HOME={result.dagster_home} (`make ui` opens it)")
    r = result.reports
    out.print(f"reports: {r / f'claimrecon_{period}.xlsx'}\n         {r / f'claimrecon_{period}.html'}\n"
              f"         {r / 'remittance'}/ (one CSV per provider)\n         {r / 'x12'}/ (one X12 835 per provider)\n"
              f"         {r / 'controls.html'} (control checks)\n"
              f"         {r / 'data_docs' / 'index.html'} (GX Data Docs)")
    return result.totals


@app.command()
def run(inbox: Annotated[Path, typer.Option(help="folder of monthly drops <inbox>/<YYYY-MM>/")],
        period: Annotated[str, typer.Option(help="month claims were received, YYYY-MM")],
        warehouse: Annotated[Path, typer.Option(help="the published DuckDB warehouse file")] = Path("warehouse/claimrecon.duckdb"),
        reports: Annotated[Path | None, typer.Option(help="reports folder (default: beside the warehouse)")] = None,
        show_recipient_ids: Annotated[bool, typer.Option("--show-recipient-ids", help="full recipient ids in the "
                                                         "workbook and HTML (PHI: not for wide circulation)")] = False):
    """One monthly claim run: ingest, judge, publish; prints the balance and where the reports are."""
    try:
        _run(inbox, period, warehouse, reports, show_recipient_ids)
    except ClaimreconError as e:
        print(f"claimrecon: refused: {printable(e)}", file=sys.stderr)
        raise typer.Exit(2) from None


@app.command()
def demo(out_dir: Annotated[Path, typer.Option("--out", help="where the sample inbox and warehouse go")] = Path("claimrecon-demo"),
         months: int = 2, seed: int = 7):
    """Generate sample data and run each month through the Dagster assets."""
    from claimrecon.generator import generate

    summary = generate(out_dir / "inbox", months=months, seed=seed, scale="demo")
    out.print(f"sample data: {summary['months']} months in {out_dir / 'inbox'} (ground truth: ground_truth.csv)")
    warehouse = out_dir / "warehouse" / "claimrecon.duckdb"
    try:
        for period in summary["periods"]:
            _run(out_dir / "inbox", period, warehouse)
    except ClaimreconError as e:
        print(f"claimrecon: refused: {printable(e)}", file=sys.stderr)
        raise typer.Exit(2) from None
    prog = sys.argv[0] if "/" in sys.argv[0] and sys.argv[0].endswith("claimrecon") else "claimrecon"  # as typed
    out.print(f"Analysts: {prog} sql --warehouse {warehouse}   (read-only; .tables lists the tables with their "
              "descriptions; example queries in sql/examples/, every column in docs/warehouse.md)")
    out.print(f"Why was a line not paid? {prog} explain --warehouse {warehouse} --period {summary['periods'][-1]} "
              "--icn ICN")


@app.command("generate")
def generate_cmd(out_dir: Annotated[Path, typer.Option("--out")], months: int = 2, seed: int = 7,
                 scale: Annotated[str, typer.Option(help="demo, county or state")] = "demo",
                 start: Annotated[str, typer.Option(help="first period, YYYY-MM")] = "2026-01"):
    """Write sample inboxes in the extracts.md format, with ground_truth.csv."""
    from claimrecon.generator import generate

    if scale not in ("demo", "county", "state"):
        err.print("claimrecon: --scale must be demo, county or state")
        raise typer.Exit(2)
    s = generate(out_dir, months=months, seed=seed, scale=scale, start=start)
    out.print(f"wrote {s['months']} month(s) to {out_dir}: {', '.join(s['periods'])}")


@app.command()
def catalog(check: Annotated[bool, typer.Option(help="fail if the generated pages are not current")] = False):
    """Render docs/rule_catalog.md (rule definitions) and docs/warehouse.md (tables and columns)."""
    from claimrecon.catalog import CATALOG_PAGE, WAREHOUSE_PAGE, render, render_warehouse, undocumented

    missing = undocumented()
    if missing:
        err.print(f"claimrecon: no description in claimrecon/catalog.py for: {', '.join(missing)}")
        raise typer.Exit(1)
    stale = []
    for page, text in ((CATALOG_PAGE, render()), (WAREHOUSE_PAGE, render_warehouse())):
        if check:
            if (page.read_text() if page.exists() else "") != text:
                stale.append(page.name)
        else:
            page.write_text(text)
            out.print(f"wrote {page}")
    if check:
        if stale:
            err.print(f"claimrecon: {', '.join(stale)} out of date: run `claimrecon catalog`")
            raise typer.Exit(1)
        out.print("docs/rule_catalog.md and docs/warehouse.md are current")


@app.command()
def explain(period: Annotated[str, typer.Option(help="month the claim was received, YYYY-MM")],
            icn: Annotated[str, typer.Option(help="the claim's ICN")],
            warehouse: Annotated[Path, typer.Option(help="the published DuckDB warehouse file")] = DEFAULT_WAREHOUSE,
            line: Annotated[int | None, typer.Option(help="one line of the claim (default: every line)")] = None,
            json_out: Annotated[bool, typer.Option("--json", help="the same facts as JSON")] = False,
            reports: Annotated[Path | None, typer.Option(help="reports folder (default: beside the warehouse)")] = None,
            show_recipient_ids: Annotated[bool, typer.Option("--show-recipient-ids",
                                                             help="full recipient ids (PHI)")] = False):
    """Why a claim line was paid, reduced, denied or rejected: every rule that fired, in precedence order,
    with the contacts, agreement line, caps and earlier lines behind it."""
    import duckdb

    from claimrecon import explain as ex

    if not warehouse.is_file():
        print(f"claimrecon: no warehouse at {warehouse}", file=sys.stderr)
        raise typer.Exit(2)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        result = ex.explain(con, period, icn, line, show_ids=show_recipient_ids,
                            reports_dir=reports or Path(os.path.abspath(warehouse)).parent / "reports")
    except ex.NotFound as e:
        print(f"claimrecon: {e}", file=sys.stderr)
        raise typer.Exit(1) from None
    finally:
        con.close()
    print(ex.to_json(result) if json_out else ex.render_text(result))  # plain print: citations hold [brackets]


@app.command()
def sql(warehouse: Annotated[Path, typer.Option(help="the published DuckDB warehouse file")] = DEFAULT_WAREHOUSE,
        command: Annotated[str | None, typer.Option("--command", "-c", help="run these statements and exit")] = None,
        csv_out: Annotated[bool, typer.Option("--csv", help="CSV output with every row")] = False):
    """A read-only SQL shell on the published warehouse (DuckDB SQL; .tables, .describe NAME, .help)."""
    from claimrecon import sqlshell

    if not warehouse.is_file():
        print(f"claimrecon: no warehouse at {warehouse}", file=sys.stderr)
        raise typer.Exit(2)
    raise typer.Exit(sqlshell.main(warehouse, command, "csv" if csv_out else "table"))


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        import duckdb

        from contracts.rules import catalog_version

        print(f"claimrecon {version('claimrecon')} (rule catalog {catalog_version()}, DuckDB {duckdb.__version__})")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="the version, rule catalog version and DuckDB version")] = False):
    """Medicaid HCBS waiver claims reconciliation."""


def main() -> None:
    os.umask(0o077)  # the warehouse and reports hold PHI: owner-only files
    warnings.filterwarnings("ignore")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 — CLAIMRECON_DEBUG=1 lets errors through: one bounded report, no PHI
        print(f"claimrecon: failed: {describe_error(e)}", file=sys.stderr)
        if os.environ.get("CLAIMRECON_DEBUG"):
            print(debug_traceback(e), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
