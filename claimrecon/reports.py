"""Finance reports for one period, read from the (staging) warehouse:

* ``claimrecon_<period>.xlsx`` — summary with the balance proof and native Excel charts, denial
  ledger, rejected records, findings, providers, and one sheet per provider with adjustments;
* ``claimrecon_<period>.html`` — one self-contained page (inline SVG charts, no script, no network)
  that prints cleanly, with the top denial reasons and their citations and a remittance section;
* ``remittance/<provider>.csv`` — each provider's lines with outcome, paid amount and every
  adjustment's group, CARC, RARC and message;
* ``x12/<provider>.835`` — each provider's X12 835 remittance advice (``claimrecon.x12``).

Recipient ids are masked in the workbook and the HTML unless ``mask_ids=False`` (an explicit flag).
The remittance files go to the provider who billed the lines, so they carry the ids the provider
needs to correct and resubmit. Any text that a spreadsheet could read as a formula is written as
text. Files are created owner-only. The same warehouse gives the same bytes. They are published with the
warehouse, in one switch (``Warehouse.publish``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import polars as pl

from claimrecon import progress, x12
from claimrecon.cells import escape_formula_expr, formula_like, mask_raw_record, sheet_names
from claimrecon.db import provider_slices

MAX_SHEET_ROWS = 1_000_000  # Excel holds 1,048,576 rows; longer tables are cut with a note
PROVIDER_SHEETS = 25  # providers with the largest adjustments get a sheet of their own
FIXED_TIME = dt.datetime(2000, 1, 1)  # workbook metadata: re-running a month gives the same bytes


def mask_id(value: str | None) -> str | None:
    """A recipient id shown for wide circulation: all but the last two characters hidden."""
    if value is None:
        return None
    return "•" * max(0, len(value) - 2) + value[-2:]


def _q(con, sql: str, params: dict | None = None) -> pl.DataFrame:
    return con.sql(sql, params=params or {}).pl()


def gather(con, period: str) -> dict[str, pl.DataFrame]:
    """Everything the reports show, from the warehouse's tables and views."""
    p = {"p": period}
    d: dict[str, pl.DataFrame] = {}
    d["totals"] = _q(con, """SELECT count(*) FILTER (WHERE row_type = 'line') AS claim_lines,
        count(*) FILTER (WHERE outcome = 'paid') AS paid_lines, count(*) FILTER (WHERE outcome = 'partial') AS partial_lines,
        count(*) FILTER (WHERE outcome = 'denied') AS denied_lines, count(*) FILTER (WHERE outcome = 'rejected') AS rejected_lines,
        count(*) FILTER (WHERE row_type <> 'line') AS reversal_rows,
        CAST(coalesce(sum(billed_amount), 0) AS DECIMAL(38,2)) AS billed_amount,
        CAST(coalesce(sum(paid_amount), 0) AS DECIMAL(38,2)) AS paid_amount,
        CAST(coalesce(sum(adjusted_amount) FILTER (WHERE outcome <> 'rejected'), 0) AS DECIMAL(38,2)) AS denied_amount,
        CAST(coalesce(sum(adjusted_amount) FILTER (WHERE outcome = 'rejected'), 0) AS DECIMAL(38,2)) AS rejected_amount
        FROM claim_outcomes WHERE period = $p""", p)
    d["by_program"] = _q(con, """SELECT waiver_program, sum(claim_lines) AS claim_lines, sum(billed_amount) AS billed_amount,
        sum(paid_amount) AS paid_amount, sum(denied_amount) AS denied_amount, sum(rejected_amount) AS rejected_amount
        FROM reconciliation_summary WHERE period = $p GROUP BY ALL ORDER BY waiver_program""", p)
    d["providers"] = _q(con, """SELECT s.billing_provider_id, pr.name AS provider_name, s.claim_lines, s.paid_lines,
        s.partial_lines, s.denied_lines, s.rejected_lines, s.billed_amount, s.paid_amount, s.denied_amount,
        s.rejected_amount, s.findings, s.pct_dollars_paid
        FROM provider_scorecard s
        LEFT JOIN (SELECT provider_id, any_value(name ORDER BY period DESC) AS name FROM providers GROUP BY ALL) pr
          ON pr.provider_id = s.billing_provider_id
        WHERE s.period = $p ORDER BY s.denied_amount + s.rejected_amount DESC, s.billing_provider_id""", p)
    d["reasons"] = _q(con, """SELECT d.rule_id, d.group_code, d.carc, d.rarc,
        count(*) FILTER (WHERE d.is_primary) AS primary_lines, count(*) AS ledger_rows,
        sum(d.units) AS units, CAST(sum(d.amount) AS DECIMAL(38,2)) AS amount,
        any_value(d.message) AS message, any_value(d.citation) AS citation
        FROM denial_ledger d WHERE d.period = $p AND d.row_type = 'line' GROUP BY ALL
        ORDER BY amount DESC, rule_id""", p)
    d["rejected_reasons"] = _q(con, """SELECT rule_id, record_kind, count(*) AS records FROM rejected_records
        WHERE period = $p GROUP BY ALL ORDER BY records DESC, rule_id, record_kind""", p)
    d["trend"] = _q(con, "SELECT * FROM month_over_month WHERE period <= $p ORDER BY period", p)
    d["ledger"] = _q(con, f"""SELECT d.icn, d.line_no, d.row_type, o.outcome, o.billing_provider_id, o.recipient_id,
        o.procedure_code, o.modifiers, o.service_date, d.rule_id, d.is_primary, d.group_code, d.carc, d.rarc, d.units,
        d.amount, d.message, d.citation, d.source_file, d.source_row
        FROM denial_ledger d JOIN claim_outcomes o ON o.period = d.period AND o.source_file = d.source_file
             AND o.source_row = d.source_row AND o.row_type = d.row_type
        WHERE d.period = $p ORDER BY d.source_file, d.source_row, d.row_type, d.is_primary DESC, d.rule_id
        LIMIT {MAX_SHEET_ROWS + 1}""", p)
    d["rejected"] = _q(con, f"""SELECT source_file, row_number, record_kind, rule_id, message, raw_record
        FROM rejected_records WHERE period = $p ORDER BY source_file, row_number LIMIT {MAX_SHEET_ROWS + 1}""", p)
    d["findings"] = _q(con, f"""SELECT rule_id, provider_id, staff_id, recipient_id, sa_number, sa_line_no, subject_date,
        message, citation, evidence FROM findings WHERE period = $p
        ORDER BY rule_id, provider_id, recipient_id, subject_date LIMIT {MAX_SHEET_ROWS + 1}""", p)
    return d


def _masked(df: pl.DataFrame, mask_ids: bool) -> pl.DataFrame:
    """For wide circulation: recipient ids masked, and PHI inside rejected records' raw text."""
    if not mask_ids:
        return df
    if "recipient_id" in df.columns:
        df = df.with_columns(pl.col("recipient_id").map_elements(mask_id, return_dtype=pl.Utf8))
    if "raw_record" in df.columns:
        kinds = df["record_kind"] if "record_kind" in df.columns else [None] * df.height
        df = df.with_columns(pl.Series("raw_record", [mask_raw_record(k, r) for k, r in zip(kinds, df["raw_record"])],
                                       dtype=pl.Utf8))
    return df


def _adjusted_lines(con, period: str, providers: list[str]) -> pl.DataFrame:
    """The lines of the given providers that were not paid in full, one row per adjustment."""
    return _q(con, """SELECT o.billing_provider_id, o.icn, o.line_no, o.row_type, o.outcome, o.recipient_id,
        o.procedure_code, o.modifiers, o.service_date, o.billed_units, o.billed_amount, o.paid_units, o.paid_amount,
        d.rule_id, d.group_code, d.carc, d.rarc, d.units AS adj_units, d.amount AS adj_amount, d.message
        FROM claim_outcomes o JOIN denial_ledger d ON d.period = o.period AND d.source_file = o.source_file
             AND d.source_row = o.source_row AND d.row_type = o.row_type
        WHERE o.period = $p AND o.billing_provider_id IN (SELECT unnest($ids))
        ORDER BY o.billing_provider_id, o.icn, o.line_no, o.row_type, d.is_primary DESC, d.rule_id""",
              {"p": period, "ids": providers})


# ---------------------------------------------------------------------------- remittance CSVs

REMITTANCE_SQL = """SELECT o.billing_provider_id, o.icn, o.line_no, o.row_type, o.adjustment_ind, o.outcome,
    o.recipient_id, o.procedure_code, o.modifiers, o.service_date, o.billed_units, o.billed_amount, o.paid_units,
    o.paid_amount, d.rule_id, d.group_code, d.carc, d.rarc, d.units AS adjustment_units,
    d.amount AS adjustment_amount, d.message
    FROM claim_outcomes o LEFT JOIN denial_ledger d ON d.period = o.period AND d.source_file = o.source_file
         AND d.source_row = o.source_row AND d.row_type = o.row_type
    WHERE o.period = $p AND {providers}
    ORDER BY o.billing_provider_id NULLS LAST, o.icn, o.line_no, o.row_type, d.is_primary DESC, d.rule_id"""
REMITTANCE_SLICE = 1_000_000  # lines sorted per query (a range of providers): a state's month is 3 M
REMITTANCE_BATCH = 200_000  # rows held at once on the way to the files


def remittance_file(period: str, provider_id: str | None, used: set[str]) -> str:
    """The provider's file name: ASCII letters, digits, - and _, at most 40 characters, unique among ``used``
    without regard to case ('abc' and 'ABC' must not share a file on a case-insensitive disk)."""
    pid = "_unreadable_provider" if provider_id is None else provider_id
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in pid)[:40] or "_"
    while safe.lower() in used:
        safe = f"{safe}_"
    used.add(safe.lower())
    return f"remittance_{period}_{safe}.csv"


def write_remittance(con, period: str, folder: Path) -> list[Path]:
    """One CSV per billing provider: every line, its outcome and paid amount, and one row per
    adjustment (group, CARC, RARC, message). Text cells that could be formulas are escaped.
    Set-based: one query per range of providers of about REMITTANCE_SLICE lines (not per provider), in
    provider order, streamed a batch at a time: memory holds a range's sort and a batch, not the month."""
    folder.mkdir(parents=True, exist_ok=True)
    total = con.execute("SELECT count(DISTINCT billing_provider_id) + max(CASE WHEN billing_provider_id IS NULL "
                        "THEN 1 ELSE 0 END) FROM claim_outcomes WHERE period = ?", [period]).fetchall()[0][0] or 0
    paths: list[Path] = []
    used: set[str] = set()
    pending: list[pl.DataFrame] = []
    pending_key: tuple | None = None

    def flush() -> None:
        part = pending[0] if len(pending) == 1 else pl.concat(pending)
        path = folder / remittance_file(period, pending_key[0], used)
        part.write_csv(path)
        paths.append(path)
        if len(paths) % 100 == 0 or len(paths) == total:
            progress.count(len(paths), total, "providers' remittance files")

    for providers, bounds in provider_slices(con, period, REMITTANCE_SLICE):
        reader = con.sql(REMITTANCE_SQL.format(providers=providers),
                         params={"p": period, **bounds}).to_arrow_reader(REMITTANCE_BATCH)
        try:
            for batch in reader:
                df = pl.from_arrow(batch)
                text_cols = [c for c, t in df.schema.items() if t == pl.Utf8]
                df = df.with_columns(pl.col("billing_provider_id").alias("_pid"))
                df = df.with_columns(escape_formula_expr(c) for c in text_cols)  # every text cell, the provider id too
                for key, part in df.partition_by("_pid", as_dict=True, maintain_order=True,
                                                 include_key=False).items():
                    if pending and key != pending_key:  # a provider's rows are contiguous: the previous one is done
                        flush()
                        pending = []
                    pending.append(part)
                    pending_key = key
        finally:
            reader.close()
    if pending:
        flush()
    return paths


# ---------------------------------------------------------------------------- Excel workbook: layout and print

#: Column headers as finance staff read them; any other column becomes "Words like this".
LABELS = {
    "icn": "ICN", "line_no": "Line", "row_type": "Row type", "adjustment_ind": "Adjustment", "outcome": "Outcome",
    "billing_provider_id": "Billing provider", "provider_id": "Provider", "provider_name": "Provider name",
    "recipient_id": "Recipient", "staff_id": "Staff", "procedure_code": "Procedure", "modifiers": "Modifiers",
    "service_date": "Date of service", "subject_date": "Date", "rule_id": "Rule", "is_primary": "Primary",
    "group_code": "Group", "carc": "CARC", "rarc": "RARC", "codes": "Codes", "units": "Units", "amount": "Dollars",
    "sa_number": "Agreement", "sa_line_no": "Agreement line", "waiver_program": "Waiver program",
    "claim_lines": "Claim lines", "paid_lines": "Paid lines", "partial_lines": "Partial lines",
    "denied_lines": "Denied lines", "rejected_lines": "Rejected lines", "primary_lines": "Lines",
    "billed_units": "Billed units", "paid_units": "Paid units", "billed_amount": "Billed $", "paid_amount": "Paid $",
    "denied_amount": "Denied $", "rejected_amount": "Rejected $", "adj_units": "Adjusted units",
    "adj_amount": "Adjusted $", "pct_dollars_paid": "% of dollars paid", "findings": "Findings",
    "source_file": "Source file", "source_row": "Source row", "row_number": "Row", "record_kind": "Record kind",
    "raw_record": "Raw record", "message": "Message", "citation": "Citation", "evidence": "Evidence",
}
_WORDS = {"icn": "ICN", "id": "ID", "carc": "CARC", "rarc": "RARC", "sa": "SA", "pct": "%", "fe": "FE"}
#: Columns that hold identifiers: written and formatted as text, never as numbers (leading zeros, 15-digit ICNs).
ID_COLUMNS = {"icn", "billing_provider_id", "provider_id", "recipient_id", "staff_id", "sa_number", "procedure_code",
              "modifiers", "original_icn", "reverses_icn", "log_id", "case_manager_id", "carc", "rarc"}
WRAP_WIDTH = 50  # text wider than this wraps inside its cell instead of widening the column
NARROW_WRAP = 30  # on the line-level sheets, whose many columns share one page width
MIN_WIDTH, SAMPLE_ROWS = 6, 5_000
CHART_W, CHART_H, ROW_PX = 480, 288, 20  # xlsxwriter's default chart size and row height, in pixels
ROW_PT = 15  # default row height in points


def header_label(col: str) -> str:
    """`billing_provider_id` -> `Billing provider`: the header a finance reader expects."""
    if col in LABELS:
        return LABELS[col]
    text = " ".join(_WORDS.get(w, w) for w in col.split("_"))
    return text[:1].upper() + text[1:]


def wrapped_lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide (proportional font: ~1.05 characters
    per width unit, words are not split)."""
    per_line = max(1, int(width * 1.05) - 1)
    lines, used = 1, 0
    for word in text.split():
        n = len(word)
        if used and used + 1 + n > per_line:
            lines, used = lines + 1, n
        else:
            used += n + (1 if used else 0)
    return lines


def _shown(v) -> str:
    """How a value reads in its cell (for fitting the column width)."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (Decimal, float)):
        return f"{v:,.2f}"
    if isinstance(v, (dt.date, dt.datetime)):
        return "0000-00-00"
    return str(v)


def with_codes(df: pl.DataFrame) -> pl.DataFrame:
    """group_code, carc and rarc shown as one `CO-96 N130` column where the group code stood."""
    if not {"group_code", "carc", "rarc"} <= set(df.columns):
        return df
    codes = (pl.col("group_code").fill_null("") + "-" + pl.col("carc").fill_null("")
             + pl.when(pl.col("rarc").fill_null("") != "").then(" " + pl.col("rarc")).otherwise(pl.lit("")))
    cols = [c for c in df.columns if c not in ("carc", "rarc")]
    return df.with_columns(codes.alias("group_code")).select(cols).rename({"group_code": "codes"})


def fit_widths(df: pl.DataFrame, wrap_width: int = WRAP_WIDTH) -> list[float]:
    """Width per column: its widest value (sampled) or the longest word of its header (headers wrap, and
    keep room for the filter button), at most wrap_width (longer text wraps)."""
    sample = df.head(SAMPLE_ROWS)
    out = []
    for col in df.columns:
        longest = max((len(_shown(v)) for v in sample[col] if v is not None), default=0)
        word = max(len(w) for w in header_label(col).split())
        out.append(float(min(wrap_width, max(MIN_WIDTH, word + 3, longest + 2))))
    return out


def print_setup(ws, period: str, repeat_row: int | None, title: str) -> None:
    """Every sheet prints as finance expects: landscape, one page wide, the header row on every page,
    the period and 'page x of y' in the footer."""
    ws.set_landscape()
    ws.set_paper(1)  # US Letter
    ws.fit_to_pages(1, 0)  # one page wide, as many tall as needed
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    if repeat_row is not None:
        ws.repeat_rows(repeat_row)
    safe = title.replace("&", "&&")
    ws.set_header(f"&L&\"-,Bold\"claimrecon — {safe}&R&A")
    ws.set_footer(f"&LClaims received {period}&CPage &P of &N&R&D")


class _Formats:
    def __init__(self, wb):
        add = wb.add_format
        self.bold = add({"bold": True})
        self.title = add({"bold": True, "font_size": 14})
        self.head = add({"bold": True, "bg_color": "#DDE4EE", "border": 1, "text_wrap": True, "valign": "top"})
        self.money = add({"num_format": "#,##0.00", "valign": "top"})
        self.money_b = add({"num_format": "#,##0.00", "bold": True})
        self.num = add({"valign": "top"})
        self.date = add({"num_format": "yyyy-mm-dd", "valign": "top", "align": "left"})
        self.text = add({"num_format": "@", "valign": "top"})
        self.wrap = add({"num_format": "@", "valign": "top", "text_wrap": True})
        # text that looks like a formula keeps a quote prefix, so it stays text when a person edits the cell
        self.quoted = add({"num_format": "@", "valign": "top", "quote_prefix": True})
        self.quoted_wrap = add({"num_format": "@", "valign": "top", "text_wrap": True, "quote_prefix": True})
        self.ok = add({"bold": True, "font_color": "#1A7F37"})


def write_table(ws, fmt: _Formats, df: pl.DataFrame, first_row: int = 0, widths: list[float] | None = None,
                sheet_table: bool = True, note: str | None = None) -> int:
    """Write df with readable headers from first_row; returns the last row used. ``widths`` (from
    fit_widths, or the sheet's widest per column) decide which text wraps; a sheet of its own gets
    frozen headers, filters and its column widths."""
    cut = df.height > MAX_SHEET_ROWS
    if cut:
        df = df.head(MAX_SHEET_ROWS)
    widths = widths or fit_widths(df)
    cols = df.columns
    kinds = []
    head_lines = max((wrapped_lines(header_label(c), widths[j] - 3) for j, c in enumerate(cols)), default=1)
    if head_lines > 1:
        ws.set_row(first_row, ROW_PT * head_lines)
    for j, col in enumerate(cols):
        ws.write_string(first_row, j, header_label(col), fmt.head)
        money = df.schema[col] == pl.Decimal or "amount" in col
        kinds.append("money" if money else "text" if col in ID_COLUMNS else "other")
        if sheet_table:
            ws.set_column(j, j, widths[j], fmt.text if col in ID_COLUMNS else None)
    for i, row in enumerate(df.iter_rows(), start=first_row + 1):
        lines = 1
        for j, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, str):
                formula = formula_like(v)
                if len(v) > widths[j]:
                    lines = max(lines, wrapped_lines(v, widths[j]))
                    ws.write_string(i, j, v, fmt.quoted_wrap if formula else fmt.wrap)
                else:
                    ws.write_string(i, j, v, fmt.quoted if formula else fmt.text)
            elif isinstance(v, bool):  # "yes"/"no" read the same in Excel, LibreOffice and print
                ws.write_string(i, j, "yes" if v else "no", fmt.text)
            elif isinstance(v, (Decimal, int, float)):
                ws.write_number(i, j, float(v), fmt.money if kinds[j] == "money" else fmt.num)
            elif isinstance(v, (dt.date, dt.datetime)):
                ws.write_datetime(i, j, dt.datetime(v.year, v.month, v.day), fmt.date)
            else:
                ws.write_string(i, j, str(v), fmt.text)
        if lines > 1:  # neither Excel nor LibreOffice fits a row to wrapped text when it opens a file
            ws.set_row(i, ROW_PT * min(lines, 15))
    last = first_row + df.height
    if sheet_table:
        ws.freeze_panes(first_row + 1, 0)
        if df.width:
            ws.autofilter(first_row, 0, first_row + max(df.height, 1), df.width - 1)
    if cut or note:
        last += 2
        ws.write_string(last, 0, note or f"Cut at {MAX_SHEET_ROWS:,} rows: query the warehouse for all of them.", fmt.bold)
    return last


def _sheet(wb, fmt: _Formats, name: str, df: pl.DataFrame, period: str, title: str, wrap_width: int = WRAP_WIDTH) -> None:
    ws = wb.add_worksheet(name)
    df = with_codes(df)
    write_table(ws, fmt, df, widths=fit_widths(df, wrap_width))
    print_setup(ws, period, 0, title)


def _chart_rows(y_scale: float) -> int:
    return -(-int(CHART_H * y_scale) // ROW_PX) + 1


def _summary(wb, fmt: _Formats, period: str, data: dict[str, pl.DataFrame], mask_ids: bool) -> None:
    """The summary: balance proof, the program table with its chart beside it, the denial table (with
    message and citation) with its chart below it. Charts are anchored only over empty cells."""
    t = data["totals"].row(0, named=True)
    ws = wb.add_worksheet("Summary")
    ws.write_string(0, 0, f"claimrecon reconciliation — claims received {period}", fmt.title)
    run = data["runs"].row(0, named=True) if data["runs"].height else {}
    ws.write_string(1, 0, f"rule catalog {run.get('catalog_version', '')}; recipient ids "
                          f"{'masked' if mask_ids else 'shown in full'}")
    rows = [("Billed", t["claim_lines"], t["billed_amount"]),
            ("Paid", t["paid_lines"] + t["partial_lines"], t["paid_amount"]),
            ("Denied / reduced / reversed", t["denied_lines"] + t["partial_lines"], t["denied_amount"]),
            ("Rejected at the front end (FE-*)", t["rejected_lines"], t["rejected_amount"])]
    for j, h in enumerate(("Balance proof", "Lines", "Dollars")):
        ws.write_string(3, j, h, fmt.head)
    for i, (label, n, amt) in enumerate(rows, start=4):
        ws.write_string(i, 0, label)
        ws.write_number(i, 1, n)
        ws.write_number(i, 2, float(amt), fmt.money)
    ws.write_string(8, 0, "Billed − paid − denied − rejected", fmt.bold)
    ws.write_formula(8, 2, "=C5-C6-C7-C8", fmt.money_b,
                     float(t["billed_amount"] - t["paid_amount"] - t["denied_amount"] - t["rejected_amount"]))
    balanced = t["billed_amount"] == t["paid_amount"] + t["denied_amount"] + t["rejected_amount"]
    ws.write_string(9, 0, "Balanced to the cent" if balanced else "NOT BALANCED", fmt.ok if balanced else fmt.bold)

    bp = data["by_program"].select("waiver_program", "claim_lines", "billed_amount", "paid_amount", "denied_amount",
                                   "rejected_amount")
    reasons = with_codes(data["reasons"]).select("rule_id", "codes", "primary_lines", "units", "amount", "message", "citation")
    # one width per column for the whole sheet: the widest of the blocks stacked in it
    labels = pl.DataFrame({"label": [r[0] for r in rows] + ["Billed − paid − denied − rejected"]})
    widths = [max(w) for w in zip(*(fit_widths(df) + [0.0] * (7 - df.width) for df in (bp, reasons)))]
    widths[0] = max(widths[0], fit_widths(labels)[0], 16.0)
    widths[6] = max(widths[6], 46.0)  # the citation column also holds the program chart
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)

    r0 = 12
    ws.write_string(r0 - 1, 0, "By waiver program", fmt.bold)
    write_table(ws, fmt, bp, first_row=r0, widths=widths, sheet_table=False)
    y1 = 1.0
    if bp.height:  # beside the balance proof and the program table, inside the first column right of them
        room = int(widths[bp.width] * 7 + 5) - 16  # that column's width in pixels (xlsxwriter's conversion)
        ch = wb.add_chart({"type": "column", "subtype": "stacked"})
        for col, name, color in ((3, "Paid", "#2E7D32"), (4, "Denied", "#C62828"), (5, "Rejected", "#F9A825")):
            ch.add_series({"name": name, "categories": ["Summary", r0 + 1, 0, r0 + bp.height, 0],
                           "values": ["Summary", r0 + 1, col, r0 + bp.height, col], "fill": {"color": color}})
        ch.set_title({"name": f"Paid vs denied by program, {period}"})
        ch.set_y_axis({"num_format": "$#,##0"})
        ws.insert_chart(3, bp.width, ch, {"x_offset": 8, "x_scale": max(0.5, room / CHART_W), "y_scale": y1,
                                          "object_position": 2})
    r1 = max(r0 + bp.height + 3, 3 + _chart_rows(y1) + 2)
    ws.write_string(r1 - 1, 0, "Denials by reason", fmt.bold)
    last = write_table(ws, fmt, reasons, first_row=r1, widths=widths, sheet_table=False)
    if reasons.height:  # below the denial table, which is as wide as the page
        ch2 = wb.add_chart({"type": "bar"})
        n = min(reasons.height, 15)
        ch2.add_series({"name": "Denied dollars", "categories": ["Summary", r1 + 1, 0, r1 + n, 0],
                        "values": ["Summary", r1 + 1, 4, r1 + n, 4], "fill": {"color": "#C62828"}})
        ch2.set_title({"name": f"Denied and reduced dollars, top {n} rules"})
        ch2.set_legend({"none": True})
        ch2.set_x_axis({"num_format": "$#,##0"})
        ch2.set_y_axis({"reverse": True})  # the largest at the top, as in the table
        ws.insert_chart(last + 2, 0, ch2, {"x_scale": 1.5, "y_scale": max(1.0, 0.08 * n + 0.4), "object_position": 2})
    print_setup(ws, period, None, "Summary")


def write_workbook(con, period: str, data: dict[str, pl.DataFrame], path: Path, mask_ids: bool = True) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "strings_to_urls": False, "default_date_format": "yyyy-mm-dd",
                                         "remove_timezone": True})
    wb.set_properties({"title": f"claimrecon reconciliation {period}", "author": "claimrecon", "created": FIXED_TIME})
    fmt = _Formats(wb)
    _summary(wb, fmt, period, data, mask_ids)
    _sheet(wb, fmt, "Denial ledger", _masked(data["ledger"], mask_ids), period, "Denial ledger", NARROW_WRAP)
    _sheet(wb, fmt, "Rejected records", _masked(data["rejected"], mask_ids), period, "Rejected records")
    _sheet(wb, fmt, "Findings", _masked(data["findings"], mask_ids), period, "Findings")
    provs = data["providers"]
    _sheet(wb, fmt, "Providers", provs, period, "Providers")
    top = provs.filter((pl.col("denied_amount") + pl.col("rejected_amount")) != 0).head(PROVIDER_SHEETS)
    if top.height:
        lines = _masked(_adjusted_lines(con, period, top["billing_provider_id"].to_list()), mask_ids)
        pids = top["billing_provider_id"].to_list()
        for pid, name in zip(pids, sheet_names([str(p) for p in pids])):
            _sheet(wb, fmt, name, lines.filter(pl.col("billing_provider_id") == pid), period, f"provider {pid}",
                   NARROW_WRAP)
    wb.close()
    return path


# ---------------------------------------------------------------------------- HTML report

def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)
    return text


def _floats(df: pl.DataFrame, col: str, reverse: bool = False) -> list[float]:
    """A money column as floats for plotting only (the figures themselves stay Decimal)."""
    vals = [float(v) for v in df[col]]
    return vals[::-1] if reverse else vals


def _charts(data: dict[str, pl.DataFrame], period: str) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update({"svg.hashsalt": f"claimrecon-{period}", "svg.fonttype": "none",
                                "text.parse_math": False,  # labels are data ('$\\frac$' is a provider id, not TeX)
                                "font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    out = {}
    bp = data["by_program"]
    fig, ax = plt.subplots(figsize=(6.2, 3.0))
    if bp.height:
        progs = bp["waiver_program"].to_list()
        paid, den, rej = (_floats(bp, c) for c in ("paid_amount", "denied_amount", "rejected_amount"))
        ax.bar(progs, paid, label="paid", color="#2E7D32")
        ax.bar(progs, den, bottom=paid, label="denied / reduced", color="#C62828")
        ax.bar(progs, rej, bottom=[a + b for a, b in zip(paid, den)], label="rejected", color="#F9A825")
        ax.legend(frameon=False)
    ax.set_title("Paid vs. denied by waiver program ($)")
    out["program"] = _svg(fig)
    pv = data["providers"].head(15)
    fig, ax = plt.subplots(figsize=(6.2, 0.3 * max(pv.height, 3) + 0.8))
    if pv.height:
        names = [str(x) for x in pv["billing_provider_id"].to_list()][::-1]
        denied = _floats(pv, "denied_amount", reverse=True)
        ax.barh(names, denied, color="#C62828", label="denied / reduced")
        ax.barh(names, _floats(pv, "rejected_amount", reverse=True), left=denied, color="#F9A825", label="rejected")
        ax.legend(frameon=False)
    ax.set_title("Providers with the most denied dollars ($)")
    out["provider"] = _svg(fig)
    rs = data["reasons"].head(15)
    fig, ax = plt.subplots(figsize=(6.2, 0.3 * max(rs.height, 3) + 0.8))
    if rs.height:
        ax.barh(rs["rule_id"].to_list()[::-1], _floats(rs, "amount", reverse=True), color="#C62828")
    ax.set_title("Denied and reduced dollars by reason")
    out["reasons"] = _svg(fig)
    tr = data["trend"]
    fig, ax = plt.subplots(figsize=(6.2, 2.6))
    if tr.height:
        ax.plot(tr["period"].to_list(), _floats(tr, "paid_amount"), marker="o", label="paid", color="#2E7D32")
        ax.plot(tr["period"].to_list(), _floats(tr, "denied_amount"), marker="o", label="denied / reduced",
                color="#C62828")
        ax.legend(frameon=False)
    ax.set_title("Month over month ($)")
    out["trend"] = _svg(fig)
    return out


HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>claimrecon reconciliation {{ period }}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; color: #1b1f24; }
h1 { font-size: 1.6rem; margin-bottom: .2rem } h2 { border-bottom: 2px solid #dde4ee; padding-bottom: .2rem; margin-top: 2rem }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem } th, td { padding: .25rem .5rem; border-bottom: 1px solid #e5e8ec; text-align: left; vertical-align: top }
th { background: #f2f5f9 } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums }
.ok { color: #1a7f37; font-weight: 600 } .bad { color: #c62828; font-weight: 600 } .muted { color: #57606a }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem } .charts svg { width: 100%; height: auto }
.provider { break-inside: avoid; page-break-inside: avoid }
@media print { body { margin: 0; max-width: none; font-size: 11px } .charts { grid-template-columns: 1fr 1fr }
  h2 { break-after: avoid } tr { break-inside: avoid } }
</style></head><body>
<h1>Claims reconciliation — claims received {{ period }}</h1>
<p class="muted">Rule catalog {{ catalog_version }} · recipient ids {{ 'masked' if masked else 'shown in full' }} ·
control checks: <a href="controls.html">controls.html</a> · why a line was not paid: <code>claimrecon explain --period {{ period }} --icn ICN</code></p>
<h2>Balance</h2>
<table id="balance"><thead><tr><th></th><th class="n">lines</th><th class="n">dollars</th></tr></thead><tbody>
{% for label, n, amt in balance %}<tr><td>{{ label }}</td><td class="n">{{ "{:,}".format(n) }}</td><td class="n">{{ amt }}</td></tr>
{% endfor %}</tbody></table>
<p class="{{ 'ok' if balanced else 'bad' }}" id="balance-proof">billed {{ billed }} = paid {{ paid }} + denied {{ denied }} + rejected {{ rejected }} — {{ 'balanced to the cent' if balanced else 'NOT BALANCED' }}</p>
<h2>Charts</h2>
<div class="charts">{% for c in charts %}<figure>{{ c | safe }}</figure>{% endfor %}</div>
<h2>Top denial reasons</h2>
<table id="reasons"><thead><tr><th>rule</th><th>codes</th><th class="n">lines</th><th class="n">units</th><th class="n">dollars</th><th>why</th><th>policy</th></tr></thead><tbody>
{% for r in reasons %}<tr><td>{{ r.rule_id }}</td><td>{{ r.group_code }}-{{ r.carc }}{% if r.rarc %} / {{ r.rarc }}{% endif %}</td><td class="n">{{ r.primary_lines }}</td><td class="n">{{ r.units }}</td><td class="n">{{ r.amount }}</td><td>{{ r.message }}</td><td class="citation">{{ r.citation }}</td></tr>
{% endfor %}</tbody></table>
<h2>Rejected records</h2>
<table><thead><tr><th>rule</th><th>record kind</th><th class="n">records</th></tr></thead><tbody>
{% for r in rejected_reasons %}<tr><td>{{ r.rule_id }}</td><td>{{ r.record_kind }}</td><td class="n">{{ r.records }}</td></tr>{% endfor %}</tbody></table>
<h2>Providers</h2>
<table><thead><tr><th>provider</th><th class="n">lines</th><th class="n">billed</th><th class="n">paid</th><th class="n">denied</th><th class="n">rejected</th><th class="n">findings</th><th>X12 835</th></tr></thead><tbody>
{% for r in providers %}<tr><td>{{ r.billing_provider_id }} {{ r.provider_name or '' }}</td><td class="n">{{ r.claim_lines }}</td><td class="n">{{ r.billed_amount }}</td><td class="n">{{ r.paid_amount }}</td><td class="n">{{ r.denied_amount }}</td><td class="n">{{ r.rejected_amount }}</td><td class="n">{{ r.findings }}</td><td>{{ x12_files.get(r.billing_provider_id) or 'none (no adjudicated lines)' }}</td></tr>
{% endfor %}</tbody></table>
<p class="muted" id="x12">{{ x12_files | length }} X12 835 remittance advice files, one per billing provider with adjudicated lines: x12/&lt;provider&gt;.835.
{% for pid, f in x12_files.items() if f.startswith('not written') %}{{ pid }}: {{ f }}. {% endfor %}</p>{% if providers_cut %}<p class="muted">{{ providers_cut }} more providers in the workbook.</p>{% endif %}
<h2>Remittance summaries</h2>
<p class="muted">Lines not paid in full, per provider, with every adjustment (full files: remittance/*.csv).</p>
{% for pid, rows in remittance %}<section class="provider"><h3>{{ pid }}</h3>
<table><thead><tr><th>ICN</th><th>line</th><th>outcome</th><th>recipient</th><th>service</th><th>date</th><th class="n">billed</th><th class="n">paid</th><th>adjustment</th><th class="n">units</th><th class="n">dollars</th><th>message</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.icn }}</td><td>{{ r.line_no }}</td><td>{{ r.outcome }}</td><td>{{ r.recipient_id }}</td><td>{{ r.procedure_code }} {{ r.modifiers or '' }}</td><td>{{ r.service_date }}</td><td class="n">{{ r.billed_amount }}</td><td class="n">{{ r.paid_amount }}</td><td>{{ r.group_code }}-{{ r.carc }}{% if r.rarc %}/{{ r.rarc }}{% endif %} {{ r.rule_id }}</td><td class="n">{{ r.adj_units }}</td><td class="n">{{ r.adj_amount }}</td><td>{{ r.message }}</td></tr>
{% endfor %}</tbody></table></section>{% endfor %}
</body></html>
"""


def write_html(con, period: str, data: dict[str, pl.DataFrame], path: Path, mask_ids: bool = True) -> Path:
    import jinja2

    t = data["totals"].row(0, named=True)
    run = data["runs"].row(0, named=True) if data["runs"].height else {}
    balanced = t["billed_amount"] == t["paid_amount"] + t["denied_amount"] + t["rejected_amount"]
    charts = _charts(data, period)
    provs = data["providers"]
    top = provs.filter((pl.col("denied_amount") + pl.col("rejected_amount")) != 0).head(PROVIDER_SHEETS)
    lines = _masked(_adjusted_lines(con, period, top["billing_provider_id"].to_list()), mask_ids) if top.height else None
    remittance = [(pid, lines.filter(pl.col("billing_provider_id") == pid).to_dicts()) for pid in top["billing_provider_id"]] \
        if lines is not None else []
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             finalize=lambda v: "" if v is None else v)  # an empty cell, never the word None
    text = env.from_string(HTML).render(
        period=period, catalog_version=run.get("catalog_version", ""), run_id=run.get("run_id", ""), masked=mask_ids,
        balance=[("Billed", t["claim_lines"], f"{t['billed_amount']:,.2f}"),
                 ("Paid", t["paid_lines"] + t["partial_lines"], f"{t['paid_amount']:,.2f}"),
                 ("Denied / reduced / reversed", t["denied_lines"] + t["partial_lines"], f"{t['denied_amount']:,.2f}"),
                 ("Rejected (FE-*)", t["rejected_lines"], f"{t['rejected_amount']:,.2f}")],
        balanced=balanced, billed=f"{t['billed_amount']:,.2f}", paid=f"{t['paid_amount']:,.2f}",
        denied=f"{t['denied_amount']:,.2f}", rejected=f"{t['rejected_amount']:,.2f}",
        charts=[charts["program"], charts["provider"], charts["reasons"], charts["trend"]],
        reasons=data["reasons"].head(20).to_dicts(), rejected_reasons=data["rejected_reasons"].to_dicts(),
        providers=provs.head(50).to_dicts(), providers_cut=max(0, provs.height - 50), remittance=remittance,
        x12_files=x12.files(con, period))
    path.write_text(text, encoding="utf-8")
    return path


def build(con, period: str, folder: Path, mask_ids: bool = True, run_id: str = "") -> dict[str, Path]:
    """Write every report of the period into ``folder`` (created owner-only)."""
    from contracts.rules import catalog_version

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    old = os.umask(0o077)
    try:
        # the provider files first: DuckDB and file work, which leaves the interpreter to a background
        # import (controls.preload) before the workbook and the page need it
        out: dict[str, Path] = {"remittance": folder / "remittance", "x12": folder / "x12"}
        write_remittance(con, period, out["remittance"])
        x12.write_period(con, period, out["x12"])
        data = gather(con, period)
        data["runs"] = pl.DataFrame({"run_id": [run_id], "catalog_version": [catalog_version()]})
        out["workbook"] = write_workbook(con, period, data, folder / f"claimrecon_{period}.xlsx", mask_ids)
        out["html"] = write_html(con, period, data, folder / f"claimrecon_{period}.html", mask_ids)
    finally:
        os.umask(old)
    return out


def clear_folder(folder: Path) -> None:
    """Empty a staging folder left by an earlier (perhaps killed) run."""
    import shutil

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, mode=0o700)


def digest(folder: Path) -> str:
    """SHA-256 over every report file (names and bytes): re-running a month gives the same digest."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "data_docs" not in p.parts:  # Data Docs carry GX's run timestamps
            h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


__all__ = ["build", "clear_folder", "digest", "mask_id", "write_html", "write_remittance", "write_workbook"]
