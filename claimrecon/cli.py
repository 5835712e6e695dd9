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
out = Console()
err = Console(stderr=True)


class RichReporter(progress.Reporter):
    def __init__(self, console: Console):
        self.console = console
        self.status = None

    def start(self, step: str) -> None:
        self.status = self.console.status(f"[bold]{step}[/] …")
        self.status.start()

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
    out.print(f"Analysts: duckdb -readonly {warehouse}   (tables: claim_outcomes, payable_claims, denial_ledger, "
              "rejected_records, log_billability, findings, reconciliation_summary, authorization_utilization, runs; "
              "example queries in sql/examples/)")


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
    from claimrecon.catalog import CATALOG_PAGE, WAREHOUSE_PAGE, render, render_warehouse

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
