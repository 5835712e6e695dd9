"""Text that leaves the warehouse for spreadsheets, charts and widely circulated reports, made safe once.

* ``formula_like`` — the ONE rule every text cell of every CSV and workbook goes through: text a
  spreadsheet would read as a formula (OWASP CSV injection: ``= + - @``, tab, CR, LF and their full-width
  forms) is written with a leading apostrophe in CSV (``escape_formula``) and as a quote-prefixed text
  cell in a workbook (the value unchanged, and Excel keeps it text even when the cell is edited).
* ``sheet_names`` — worksheet names from data (provider ids): Excel's forbidden characters removed, no
  leading or trailing apostrophe, at most 31 characters, unique without regard to case.
* ``mask_raw_record`` — PHI inside a rejected record's raw text (recipient ids, birth dates, narratives)
  masked for reports that circulate widely: by field position for the known layouts, and any run of
  8 digits or date anywhere as a fallback.
"""

from __future__ import annotations

import csv
import re
import unicodedata

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_FORMULA_START_RE = "^[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in FORMULA_START) + "]"  # Rust regex, by code point


def formula_like(value: str | None) -> bool:
    """Whether a spreadsheet could read this text as a formula: the one rule for every CSV and workbook."""
    return bool(value) and value.startswith(FORMULA_START)


def escape_formula(value: str | None) -> str | None:
    """For CSV: text that a spreadsheet could read as a formula, prefixed with an apostrophe (kept as
    text). A workbook keeps the value itself and marks such a cell quote-prefixed (``formula_like``)."""
    return "'" + value if formula_like(value) else value


def escape_formula_expr(col: str):
    """``escape_formula`` over a Polars string column (same rule, vectorised)."""
    import polars as pl

    c = pl.col(col)  # one anchored character class: a fifth of the cost of a starts_with per character
    return pl.when(c.str.contains(_FORMULA_START_RE)).then(pl.lit("'") + c).otherwise(c).alias(col)


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_RESERVED = {"history"}  # Excel reserves this worksheet name


def sheet_names(labels: list[str], prefix: str = "P ") -> list[str]:
    """One worksheet name per label, in order: forbidden characters and control characters dropped,
    no apostrophe at either end, at most 31 characters, unique among themselves without regard to
    case (Excel's rule: 'abc' and 'ABC' are the same sheet) and not a reserved name."""
    used: set[str] = {"summary", "denial ledger", "rejected records", "findings", "providers"}
    out = []
    for label in labels:
        text = "".join(ch for ch in f"{prefix}{label}" if unicodedata.category(ch)[0] != "C")
        base = _SHEET_FORBIDDEN.sub("_", text).strip("' ")[:31].strip("' ") or "sheet"
        name, n = base, 1
        while name.lower() in used or name.lower() in _RESERVED:
            n += 1
            suffix = f" ({n})"
            name = base[:31 - len(suffix)].rstrip("' ") + suffix
        used.add(name.lower())
        out.append(name)
    return out


# ---------------------------------------------------------------------------- PHI inside raw text

#: The columns that carry PHI, by record kind (as named in extracts.md).
PHI_COLUMNS = {"recipient_id", "birth_date", "narrative"}
_DATE = re.compile(r"(?<![0-9])([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?![0-9])")
_DATE_US = re.compile(r"(?<![0-9])[0-9]{1,2}[-/.][0-9]{1,2}[-/.]([0-9]{4})(?![0-9])")
_DIGIT_RUN = re.compile(r"[0-9\uff10-\uff19\u0660-\u0669]{8,}")
MASK = "•"


def _mask_text(text: str) -> str:
    """The fallback: any date (the year kept) and any run of 8 or more digits masked."""
    text = _DATE.sub(lambda m: f"{m.group(1)}-{MASK * 2}-{MASK * 2}", text)
    text = _DATE_US.sub(lambda m: f"{MASK * 2}/{MASK * 2}/{m.group(1)}", text)
    return _DIGIT_RUN.sub(lambda m: MASK * len(m.group(0)), text)


def _split(raw: str, sep: str) -> list[str] | None:
    if sep == "|":
        return raw.split("|")
    try:
        rows = list(csv.reader([raw.replace("\r", " ").replace("\n", " ")]))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def mask_raw_record(kind: str | None, raw: str | None) -> str | None:
    """A rejected record's raw text for wide circulation. Where the record splits into the kind's known
    layout, the PHI columns (recipient id, birth date, narrative) are masked by position; whatever the
    layout, dates and runs of 8+ digits are masked everywhere, and for a kind that carries narratives
    every field of several words in lower case is masked too (columns may come in any order)."""
    if raw is None:
        return None
    from claimrecon.ingest import KINDS
    from contracts import front_end as fe

    k = KINDS.get(kind or "")
    if k is None:
        return _mask_text(raw)
    cols = fe.columns(k.name)
    fields = _split(raw, k.sep)
    if fields is None:
        return _mask_text(raw)
    known = len(fields) == len(cols)
    free_text = "narrative" in cols
    out = []
    for i, value in enumerate(fields):
        if known and cols[i] in PHI_COLUMNS and value.strip():
            out.append(MASK * 4)
        elif free_text and len(value.split()) >= 2 and any(ch.islower() for ch in value):
            out.append(MASK * 4)  # words: a narrative, wherever a file with its own column order put it
        else:
            out.append(_mask_text(value))
    return k.sep.join(out)
