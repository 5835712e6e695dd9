"""Structural reading of the inbox files: bytes -> one string column per field, nothing lost.

Every physical record comes back either as a row of strings (with its line number and raw text)
or as a structural reject (``FE-PARSE``: encoding or field count). Typed parsing and the
front-end edits happen afterwards, in ``contracts/front_end.py``.

Polars' CSV reader is not used for structure: it silently fills short rows with nulls. Instead
lines are split and counted with vectorised string operations; only lines that contain a quote
go through Python's ``csv`` module, and a file with quoted line breaks is read entirely by it.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

BOM = "\ufeff"
c = pl.col


@dataclass
class Trailer:
    count: int | None
    total: Decimal | None
    raw: str


@dataclass
class RawFile:
    path: Path
    sha256: str
    header: list[str]
    rows: pl.DataFrame  # one Utf8 column per header name + _row (int) + _raw (str) + _extra (json str)
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (row, message, raw)
    trailer: Trailer | None = None
    detail_lines: int = 0
    problem: str | None = None  # a file-level reason: the whole file cannot be read


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _decode(data: bytes) -> tuple[list[str], set[int]]:
    """Decode UTF-8 (BOM tolerated). Returns physical lines and the 0-based indexes of lines that
    are not valid UTF-8 (shown with backslash escapes)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
        bad: set[int] = set()
        lines = text.split("\n")
    except UnicodeDecodeError:
        lines, bad = [], set()
        for i, chunk in enumerate(data.split(b"\n")):
            try:
                lines.append(chunk.decode("utf-8"))
            except UnicodeDecodeError:
                lines.append(chunk.decode("utf-8", errors="backslashreplace"))
                bad.add(i)
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    if lines and lines[0].startswith(BOM):
        lines[0] = lines[0][1:]
    return lines, bad


def _parse_trailer(line: str) -> Trailer | None:
    parts = line.split("|")
    if len(parts) != 3 or parts[0] != "TRL":
        return None
    try:
        count = int(parts[1])
    except ValueError:
        count = None
    try:
        total = Decimal(parts[2])
    except InvalidOperation:
        total = None
    return Trailer(count, total, line)


def _frame(header: list[str], known: list[str], records: list[tuple[int, list[str], str]]) -> pl.DataFrame:
    """Build the string frame from already split records (slow path)."""
    cols: dict[str, list] = {name: [] for name in known}
    extra_names = [h for h in header if h not in known]
    rows, raws, extras = [], [], []
    idx = {h: i for i, h in enumerate(header)}
    for row_no, fields, raw in records:
        rows.append(row_no)
        raws.append(raw)
        for name in known:
            i = idx.get(name)
            v = fields[i] if i is not None else None
            cols[name].append(v if v not in ("",) else None)
        extras.append(_extra_json({h: fields[idx[h]] for h in extra_names}) if extra_names else None)
    data = {name: pl.Series(name, cols[name], dtype=pl.Utf8) for name in known}
    data["_row"] = pl.Series("_row", rows, dtype=pl.Int64)
    data["_raw"] = pl.Series("_raw", raws, dtype=pl.Utf8)
    data["_extra"] = pl.Series("_extra", extras, dtype=pl.Utf8)
    return pl.DataFrame(data)


def _extra_json(d: dict[str, str]) -> str:
    import json

    return json.dumps(d, ensure_ascii=False, sort_keys=True)


def _lines(data: bytes) -> pl.DataFrame:
    """Every non-blank physical line as (_row, _raw, _bad): 1-based line number, text without the line
    ending, and whether it is not valid UTF-8 (then shown with backslash escapes). A valid UTF-8 file
    (the usual case) is split in Polars, not in Python, so millions of lines cost no Python objects."""
    schema = {"_row": pl.Int64, "_raw": pl.Utf8, "_bad": pl.Boolean}
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        lines, bad = _decode(data)
        frame = pl.DataFrame({"_row": range(1, len(lines) + 1), "_raw": lines,
                              "_bad": [i in bad for i in range(len(lines))]}, schema=schema)
    else:
        frame = (pl.DataFrame({"_raw": [text]}, schema={"_raw": pl.Utf8})
                 .select(c("_raw").str.split("\n").explode())
                 .with_row_index("_row", offset=1)
                 .select(c("_row").cast(pl.Int64), c("_raw").str.strip_suffix("\r"), pl.lit(False).alias("_bad")))
        del text
        if frame.height and frame["_raw"][0].startswith(BOM):
            frame = frame.with_columns(pl.when(c("_row") == 1).then(c("_raw").str.strip_prefix(BOM))
                                       .otherwise(c("_raw")).alias("_raw"))
    return frame.filter(c("_raw").str.strip_chars() != "")


def read_delimited(path: Path, known: list[str], sep: str, trailer: bool) -> RawFile:
    """Read one inbox file. ``known`` are the data-dictionary columns (missing ones come back null)."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    nb = _lines(data)  # blank lines (and the end after a final newline) are not records
    empty = RawFile(path, sha, [], _frame([], known, []))
    if not nb.height:
        empty.problem = "the file is empty"
        if trailer:
            empty.trailer = None
        return empty
    _, header_line, header_bad = nb.row(0)
    body = nb.slice(1)
    trl = None
    if trailer and body.height:
        last = body["_raw"][-1]
        if last.startswith("TRL"):
            trl = _parse_trailer(last) or Trailer(None, None, last)
            body = body.slice(0, body.height - 1)
    try:
        header = next(csv.reader([header_line], delimiter=sep)) if sep == "," else header_line.split(sep)
    except csv.Error:  # unreadable quoting in the header: the header names nothing we know
        header = header_line.split(sep)
    header = [h.strip() for h in header]
    out = RawFile(path, sha, header, _frame(header, known, []), trailer=trl, detail_lines=body.height)
    if header_bad or len(set(header)) != len(header) or not set(known) & set(header):
        reason = "the header is not valid UTF-8" if header_bad else (
            "the header repeats a column name" if len(set(header)) != len(header) else "the header names none of the expected columns")
        out.problem = reason
        out.rejects = [(r, f"unreadable file: {reason}", ln) for r, ln in body.select("_row", "_raw").iter_rows()]
        return out
    bad_rows = set(body.filter(c("_bad"))["_row"].to_list())
    rejects: list[tuple[int, str, str]] = [(r, "the record is not valid UTF-8 text", ln)
                                           for r, ln in body.filter(c("_bad")).select("_row", "_raw").iter_rows()]
    s = body.filter(~c("_bad")).drop("_bad")
    ncol = len(header)
    if sep == "," and s.select((c("_raw").str.count_matches('"', literal=True) % 2 == 1).any()).item():
        # Quoted line breaks: let the csv module own the whole file.
        return _read_csv_module(out, known, data, bad_rows, rejects)
    if not s.height:
        out.rejects = rejects
        return out
    # Field count of every line, quoted separators excluded (vectorised); wrong counts are FE-PARSE.
    unquoted = c("_raw").str.replace_all(r'"(?:[^"]|"")*"', "") if sep == "," else c("_raw")
    s = s.with_columns((unquoted.str.count_matches(sep, literal=True) + 1).alias("_n"))
    wrong = s.filter(c("_n") != ncol)
    rejects.extend((r, f"wrong field count: {n} fields where the header has {ncol}", raw)
                   for r, raw, n in wrong.select("_row", "_raw", "_n").iter_rows())
    s = s.filter(c("_n") == ncol).drop("_n")
    names = [f"_c{i}" for i in range(ncol)]
    fields = None
    if s.height:
        try:  # the lines already have the right field count: Polars' parser only splits and unquotes
            joined = s.select(c("_raw").str.join("\n")).item()
            fields = pl.read_csv(io.BytesIO(joined.encode() + b"\n"), has_header=False,
                                 infer_schema=False, separator=sep, quote_char='"' if sep == "," else None,
                                 new_columns=names, raise_if_empty=False)
        except pl.exceptions.PolarsError:
            fields = None
        if fields is None or fields.height != s.height:
            fields = pl.DataFrame([list(f) for f in zip(*(next(csv.reader([ln], delimiter=sep))
                                                          for ln in s["_raw"].to_list()))] or None,
                                  schema=names, orient="col") if s.height else None
    idx = {h: i for i, h in enumerate(header)}
    extra_names = [h for h in header if h not in known]
    exprs = []
    for name in known:
        if name in idx:
            e = c(f"_c{idx[name]}").str.strip_chars()
            exprs.append(pl.when(e == "").then(None).otherwise(e).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=pl.Utf8).alias(name))
    if extra_names:
        exprs.append(pl.struct([c(f"_c{idx[h]}").alias(h) for h in sorted(extra_names)])
                     .struct.json_encode().alias("_extra"))
    else:
        exprs.append(pl.lit(None, dtype=pl.Utf8).alias("_extra"))
    if fields is not None and s.height:
        frame = pl.concat([fields, s], how="horizontal").select(*exprs, "_row", "_raw")
    else:
        frame = _frame(header, known, [])
    out.rows = frame.select(*known, "_row", "_raw", "_extra")
    out.rejects = sorted(rejects)
    return out


def _read_csv_module(out: RawFile, known, data: bytes, bad_rows: set[int], rejects) -> RawFile:
    text = data.decode("utf-8", errors="backslashreplace").lstrip(BOM)
    reader = csv.reader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n"), newline=""))
    header = out.header
    ncol = len(header)
    recs = []
    start = 1
    try:
        next(reader)
        start = reader.line_num + 1
        for fields in reader:
            row = start
            start = reader.line_num + 1
            if not fields or all(f.strip() == "" for f in fields):
                continue
            raw = ",".join(fields)
            if row in bad_rows:
                continue
            if len(fields) == 3 and fields[0] == "TRL":
                continue
            if len(fields) != ncol:
                rejects.append((row, f"wrong field count: {len(fields)} fields where the header has {ncol}", raw))
            else:
                recs.append((row, [f.strip() for f in fields], raw))
    except csv.Error:
        rejects.append((start, "unreadable quoting", ""))
    out.rows = _frame(header, known, recs).select(*known, "_row", "_raw", "_extra")
    out.rejects = sorted(rejects)
    return out
