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
import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

BOM = "\ufeff"
c = pl.col
# A field as long as Polars' reader takes (the vectorised path has no limit): the same narrative must not
# be loaded from one file and rejected from another because a line elsewhere sent it to the csv module.
csv.field_size_limit(2**31 - 1)


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


_EOL = re.compile(r"\r\n?")
_EOL_BYTES = re.compile(rb"\r\n?")


def unify_line_endings(text: str) -> str:
    """CRLF (Windows) and a lone CR (classic Mac, some EVV exports) end a line as LF does."""
    return _EOL.sub("\n", text) if "\r" in text else text


def _decode(data: bytes) -> tuple[list[str], set[int]]:
    """Decode UTF-8 (BOM tolerated). Returns physical lines (LF, CRLF or CR endings) and the 0-based
    indexes of lines that are not valid UTF-8 (shown with backslash escapes)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
        bad: set[int] = set()
        lines = unify_line_endings(text).split("\n")
    except UnicodeDecodeError:
        lines, bad = [], set()
        for i, chunk in enumerate(_EOL_BYTES.sub(b"\n", data).split(b"\n")):
            try:
                lines.append(chunk.decode("utf-8"))
            except UnicodeDecodeError:
                lines.append(chunk.decode("utf-8", errors="backslashreplace"))
                bad.add(i)
    if lines and lines[0].startswith(BOM):
        lines[0] = lines[0][1:]
    return lines, bad


def _parse_trailer(line: str) -> Trailer | None:
    parts = line.split("|")
    if len(parts) != 3 or parts[0] != "TRL":
        return None
    if not line.isascii():  # Python's int and Decimal read '١٢٠' as 120: the trailer's digits are ASCII
        return Trailer(None, None, line)
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
        frame = (pl.DataFrame({"_raw": [unify_line_endings(text)]}, schema={"_raw": pl.Utf8})
                 .select(c("_raw").str.split("\n").explode())
                 .with_row_index("_row", offset=1)
                 .select(c("_row").cast(pl.Int64), "_raw", pl.lit(False).alias("_bad")))
        del text
        if frame.height and frame["_raw"][0].startswith(BOM):
            frame = frame.with_columns(pl.when(c("_row") == 1).then(c("_raw").str.strip_prefix(BOM))
                                       .otherwise(c("_raw")).alias("_raw"))
    return frame.filter(c("_raw").str.strip_chars() != "")


def _header_fields(header_line: str, sep: str) -> list[str]:
    try:
        header = next(csv.reader([header_line], delimiter=sep)) if sep == "," else header_line.split(sep)
    except csv.Error:  # unreadable quoting in the header: the header names nothing we know
        header = header_line.split(sep)
    return [h.strip() for h in header]


def _header_problem(header: list[str], known: list[str], header_bad: bool) -> str | None:
    if header_bad:
        return "the header is not valid UTF-8"
    if len(set(header)) != len(header):
        return "the header repeats a column name"
    if not set(known) & set(header):
        return "the header names none of the expected columns"
    return None


def _odd_quotes() -> pl.Expr:
    return c("_raw").str.count_matches('"', literal=True) % 2 == 1


def _needs_strip(fields: pl.DataFrame, s: pl.DataFrame, sep: str) -> set[str]:
    """The field columns that hold a value with leading or trailing white space (Unicode White_Space, what
    `str.strip_chars()` removes) or an empty string (a quoted empty field): only they need stripping, usually
    none at all (Polars reads an empty unquoted field as null). Without quoting (pipe extracts) a field's
    edges are the separators and the line's ends, so one look at each line tells; with quoting, each
    column is looked at."""
    if sep != ",":
        e = re.escape(sep)
        if not s.select(c("_raw").str.contains(rf"(?:^|{e})\s|\s(?:{e}|$)").any()).item():
            return set()
    flags = fields.select((c(k).str.contains(r"^\s|\s$") | (c(k) == "")).any() for k in fields.columns).row(0)
    return {k for k, f in zip(fields.columns, flags) if f}


#: Lines split at a time: a state month's 3 M lines are parsed in slices, so that the parser's and the
#: edits' working copies stay small (peak memory); every step is per line, the result is the same.
SPLIT_CHUNK = 500_000


def _split_fields(s: pl.DataFrame, header: list[str], known: list[str], sep: str, data: bytes | None = None
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`_split_chunk` over slices of SPLIT_CHUNK lines (``data``, the lines as bytes, cut at the same lines)."""
    if s.height <= SPLIT_CHUNK:
        return _split_chunk(s, header, known, sep, data)
    ends = s.select((c("_raw").str.len_bytes().cast(pl.Int64) + 1).cum_sum()).to_series()
    if data is not None and ends[-1] != len(data):
        data = None  # not the lines of `s`: join them instead
    view = memoryview(data) if data is not None else None
    recs, wrongs = [], []
    for a in range(0, s.height, SPLIT_CHUNK):
        b = min(a + SPLIT_CHUNK, s.height)
        part = bytes(view[(ends[a - 1] if a else 0):ends[b - 1]]) if view is not None else None
        r, w = _split_chunk(s.slice(a, b - a), header, known, sep, part)
        recs.append(r)
        wrongs.append(w)
    del view, data
    return pl.concat(recs, how="vertical", rechunk=False), pl.concat(wrongs, how="vertical")


def _split_chunk(s: pl.DataFrame, header: list[str], known: list[str], sep: str, data: bytes | None = None
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split lines (columns _row, _raw and any others, such as _file) into the known fields.

    Returns (records, wrong): records have one Utf8 column per known name (blank -> null), _extra
    (JSON of columns the dictionary does not name) and the input's other columns; wrong are the lines
    whose field count differs from the header's, with that count in _n. Vectorised: one pass over
    however many files share this header. ``data``, when given, is the lines of ``s`` as bytes (LF after
    each): when every line has the right field count, Polars parses them directly."""
    ncol = len(header)
    # Field count of every line, quoted separators excluded; wrong counts are FE-PARSE.
    unquoted = c("_raw").str.replace_all(r'"(?:[^"]|"")*"', "") if sep == "," else c("_raw")
    s = s.with_columns((unquoted.str.count_matches(sep, literal=True) + 1).alias("_n"))
    wrong = s.filter(c("_n") != ncol)
    if wrong.height:
        s = s.filter(c("_n") == ncol)
        data = None  # the bytes hold the wrong lines too
    s = s.drop("_n")
    names = [f"_c{i}" for i in range(ncol)]
    fields = None
    parsed = False
    if s.height:
        try:  # the lines already have the right field count: Polars' parser only splits and unquotes
            if data is None:
                data = s.select(c("_raw").str.join("\n") + "\n").item().encode()  # one copy of the text, as bytes
            fields = pl.read_csv(io.BytesIO(data), has_header=False,
                                 infer_schema=False, separator=sep, quote_char='"' if sep == "," else None,
                                 new_columns=names, raise_if_empty=False)
        except pl.exceptions.PolarsError:
            fields = None
        data = None
        if fields is None or fields.height != s.height:
            parsed = True  # the csv module keeps empty fields as "": every column is stripped and blanked below
            fields = pl.DataFrame([list(f) for f in zip(*(next(csv.reader([ln], delimiter=sep))
                                                          for ln in s["_raw"].to_list()))] or None,
                                  schema=names, orient="col")
    idx = {h: i for i, h in enumerate(header)}
    extra_names = [h for h in header if h not in known]
    # Stripped, blank -> null: only the columns that hold white space at an edge or an empty string
    strip = set(names) if parsed else _needs_strip(fields, s, sep) if fields is not None and s.height else set()
    exprs = []
    for name in known:
        if name in idx and f"_c{idx[name]}" in strip:
            e = c(f"_c{idx[name]}").str.strip_chars()
            exprs.append(pl.when(e == "").then(None).otherwise(e).alias(name))
        elif name in idx:
            exprs.append(c(f"_c{idx[name]}").alias(name))
        else:
            exprs.append(pl.lit(None, dtype=pl.Utf8).alias(name))
    if extra_names:
        exprs.append(pl.struct([c(f"_c{idx[h]}").alias(h) for h in sorted(extra_names)])
                     .struct.json_encode().alias("_extra"))
    else:
        exprs.append(pl.lit(None, dtype=pl.Utf8).alias("_extra"))
    others = [k for k in s.columns if k not in ("_row", "_raw")]
    if fields is not None and s.height:
        frame = pl.concat([fields, s], how="horizontal").select(*exprs, "_row", "_raw", *others)
    else:
        frame = _frame(header, known, []).with_columns(*[pl.lit(None, dtype=s.schema[k]).alias(k) for k in others])
    return frame.select(*known, "_row", "_raw", "_extra", *others), wrong


def _wrong_count_rejects(wrong: pl.DataFrame, ncol: int) -> list[tuple[int, str, str]]:
    return [(r, f"wrong field count: {n} fields where the header has {ncol}", raw)
            for r, raw, n in wrong.select("_row", "_raw", "_n").iter_rows()]


def read_delimited(path: Path, known: list[str], sep: str, trailer: bool) -> RawFile:
    """Read one inbox file. ``known`` are the data-dictionary columns (missing ones come back null)."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    return _read_one(path, data, sha, known, sep, trailer)


def _read_one(path: Path, data: bytes, sha: str, known: list[str], sep: str, trailer: bool) -> RawFile:
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
    header = _header_fields(header_line, sep)
    out = RawFile(path, sha, header, _frame(header, known, []), trailer=trl, detail_lines=body.height)
    reason = _header_problem(header, known, header_bad)
    if reason:
        out.problem = reason
        out.rejects = [(r, f"unreadable file: {reason}", ln) for r, ln in body.select("_row", "_raw").iter_rows()]
        return out
    bad_rows = set(body.filter(c("_bad"))["_row"].to_list())
    rejects: list[tuple[int, str, str]] = [(r, "the record is not valid UTF-8 text", ln)
                                           for r, ln in body.filter(c("_bad")).select("_row", "_raw").iter_rows()]
    s = body.filter(~c("_bad")).drop("_bad")
    if sep == "," and s.select(_odd_quotes().any()).item():
        # Quoted line breaks: let the csv module own the whole file.
        return _read_csv_module(out, known, data, bad_rows, rejects)
    if not s.height:
        out.rejects = rejects
        return out
    out.rows, wrong = _split_fields(s, header, known, sep)
    rejects.extend(_wrong_count_rejects(wrong, len(header)))
    out.rejects = sorted(rejects)
    return out


@dataclass
class Batch:
    """Many files of one kind read together: per-file facts in ``files`` (their ``rows`` are left
    empty) and every readable record of every file in ``rows``, with ``_file``, the file's index in
    ``files``. Records are in file order, then line order."""

    files: list[RawFile]
    rows: pl.DataFrame


_LINE_SEPS = (b"\x1f", b"\x1e", b"\x1d", b"\x1c", b"\x00")


def _physical_lines(big: bytes, total: int) -> pl.Series:
    """The ``total`` physical lines of ``big`` (valid UTF-8, LF endings, every line ending with LF), as
    strings, a blank line as "" or null. Polars' CSV reader splits them (a separator byte absent from
    the text, no quoting: each line is one field), which is several times faster than splitting one
    big string; the line count is checked, and anything unexpected falls back to splitting."""
    if total and not big.startswith(b"\xef\xbb\xbf"):  # Polars' reader would drop a BOM there
        for sep in _LINE_SEPS:
            if sep in big:
                continue
            try:
                lines = pl.read_csv(big, has_header=False, separator=sep.decode(), quote_char=None,
                                    schema={"_raw": pl.Utf8}, raise_if_empty=False)["_raw"]
            except pl.exceptions.PolarsError:
                break
            if lines.len() == total:
                return lines
            break
    out = pl.Series("_raw", [big], dtype=pl.Binary).cast(pl.Utf8).str.split("\n").explode()
    return out.slice(0, total)  # every line ends with LF: the piece after the last one is not a line


def read_files(paths: list[Path], known: list[str], sep: str, trailer: bool) -> Batch:
    """Read many inbox files of one kind at once (a state's month has ~1,500 provider log files).

    Files in the usual shape (valid UTF-8, a readable header, no quoted line breaks) are split and
    parsed together, one vectorised pass per distinct header, so the per-file cost is a read and a
    hash. Each file's ``sha256`` is that of the bytes parsed (compare it with the hash registered
    earlier: a file that changed in between must not be loaded under the old hash). Any other file
    goes through ``read_delimited``'s per-file path, with the same outcome."""
    files: list[RawFile] = []
    bodies: dict[int, bytes] = {}  # valid UTF-8, LF endings, the BOM removed, ending with LF (or empty)
    slow: dict[int, tuple[bytes, str]] = {}
    bom_again = False  # a second BOM after the first: stripped from line 1 as the per-file reader does
    for i, path in enumerate(paths):
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()  # of what is read: the caller compares it with the registered hash
        files.append(RawFile(path, sha, [], _frame([], known, [])))
        body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        if not body.isascii():
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                slow[i] = (data, sha)
                continue
        if b"\r" in body:  # CR and LF never occur inside a multi-byte UTF-8 sequence
            body = _EOL_BYTES.sub(b"\n", body)
        if body and not body.endswith(b"\n"):
            body += b"\n"
        bom_again |= body.startswith(b"\xef\xbb\xbf")
        bodies[i] = body
        del data, body
    parts: list[pl.DataFrame] = []
    if bodies:
        order = list(bodies)
        nlines = [bodies[i].count(b"\n") for i in order]
        sizes = [len(bodies[i]) for i in order]
        big = bodies[order[0]] if len(order) == 1 else b"".join(bodies[i] for i in order)
        bodies.clear()
        offsets = dict(zip(order, itertools.accumulate([0] + sizes[:-1])))  # where each file starts in `big`
        total = sum(nlines)
        lines = (pl.DataFrame({"_file": order, "_n": nlines}, schema={"_file": pl.Int32, "_n": pl.Int64})
                 .filter(c("_n") > 0).select(c("_file").repeat_by("_n")).explode("_file")
                 .with_columns(_physical_lines(big, total))
                 .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("_file").alias("_row")))
        if bom_again:
            lines = lines.with_columns(pl.when(c("_row") == 1).then(c("_raw").str.strip_prefix(BOM)).otherwise(c("_raw")))
        nonblank = lines.select(c("_raw").str.strip_chars() != "").to_series().fill_null(False)
        blanks = dict(lines.filter(~nonblank).group_by("_file").len().iter_rows()) if not nonblank.all() else {}
        lines = lines.filter(nonblank)
        del nonblank
        first = lines.select(c("_file").is_first_distinct()).to_series()
        heads = dict(lines.filter(first).select("_file", "_raw").iter_rows())
        body = lines.filter(~first)
        del lines, first
        if trailer:
            last = body.select(c("_file").is_last_distinct() & c("_raw").str.starts_with("TRL")).to_series()
            for f, raw in body.filter(last).select("_file", "_raw").iter_rows():
                files[f].trailer = _parse_trailer(raw) or Trailer(None, None, raw)
            body = body.filter(~last)
        counts = dict(body.group_by("_file").len().iter_rows())
        odd = set(body.filter(_odd_quotes())["_file"].unique().to_list()) if sep == "," else set()
        groups: dict[tuple[str, ...], list[int]] = {}
        for f in sorted(heads):  # a file without a header line has no line at all: empty (below)
            raw = files[f]
            raw.header = _header_fields(heads[f], sep)
            raw.detail_lines = counts.get(f, 0)
            if _header_problem(raw.header, known, False) or f in odd:
                data = raw.path.read_bytes()  # read again: the hash is of the bytes actually parsed
                slow[f] = (data, hashlib.sha256(data).hexdigest())
                continue
            groups.setdefault(tuple(raw.header), []).append(f)
        for i in range(len(files)):
            if i not in heads and i not in slow and files[i].problem is None:
                files[i].problem = "the file is empty"
        # The detail lines' own bytes, when each member file is plain (no blank line, no BOM left on line 1:
        # its header is its first line, its trailer its last): Polars parses them as they are, without
        # joining the lines into a new text first. Taken before the fields are parsed, so that the whole
        # text (`big`) is let go first.
        details = {header: _detail_bytes(big, members, offsets, dict(zip(order, sizes)), files, trailer)
                   if not bom_again and not any(f in blanks for f in members) else None
                   for header, members in groups.items()}
        del big
        for header, members in groups.items():
            s = body.filter(c("_file").is_in(members)) if len(groups) > 1 or slow else body
            recs, wrong = _split_fields(s.select("_row", "_raw", "_file"), list(header), known, sep,
                                        details.pop(header))
            for f, rows in wrong.partition_by("_file", as_dict=True).items() if wrong.height else []:
                files[f[0]].rejects = _wrong_count_rejects(rows, len(header))
            parts.append(recs)
        del body
    for i, (data, sha) in sorted(slow.items()):
        raw = _read_one(paths[i], data, sha, known, sep, trailer)
        parts.append(raw.rows.with_columns(pl.lit(i, dtype=pl.Int32).alias("_file")))
        raw.rows = _frame([], known, [])
        files[i] = raw
    rows = pl.concat(parts, how="vertical") if parts else _frame([], known, []).with_columns(
        pl.lit(None, dtype=pl.Int32).alias("_file"))
    if len(parts) > 1:
        rows = rows.sort("_file", "_row")
    for raw in files:
        raw.rejects = sorted(raw.rejects)
    return Batch(files, rows)


def _detail_bytes(big: bytes, members: list[int], offsets: dict[int, int], sizes: dict[int, int],
                  files: list[RawFile], trailer: bool) -> bytes:
    """The detail lines of plain files (header first, trailer if any last, no blank line), as bytes."""
    view = memoryview(big)
    spans = []
    for f in members:
        start, end = offsets[f], offsets[f] + sizes[f]
        start = big.index(b"\n", start, end) + 1  # after the header line
        if trailer and files[f].trailer is not None:
            end = big.rindex(b"\n", start - 1, end - 1) + 1  # before the trailer line
        spans.append(view[start:end])
    return b"".join(spans)


#: A quoted field may run over this many line breaks at most (a narrative with paragraphs); past it the
#: quote is taken as never closed.
MAX_QUOTED_LINES = 50


def _complete_record(line: str, ncol: int) -> bool:
    """A line that is a whole record on its own: balanced quotes and the header's field count."""
    if line.count('"') % 2:
        return False
    unquoted = re.sub(r'"(?:[^"]|"")*"', "", line)
    return unquoted.count(",") + 1 == ncol


def _read_csv_module(out: RawFile, known, data: bytes, bad_rows: set[int], rejects) -> RawFile:
    """A CSV file with quoted line breaks. Records are assembled from physical lines: a line with an
    unbalanced quote takes the following lines until the quote closes. A quote that never closes (the
    end of the file, MAX_QUOTED_LINES, an unreadable line, or a following line that is a whole record
    of its own) costs that one line, rejected; reading resumes at the next line, so the records after
    it are judged on their own."""
    phys, _ = _decode(data)
    header = out.header
    ncol = len(header)
    first = next(i for i, ln in enumerate(phys) if ln.strip())  # the header line (the file is not empty)
    recs = []
    i = first + 1
    while i < len(phys):
        row, line = i + 1, phys[i]
        if row in bad_rows or not line.strip():
            i += 1
            continue
        text, j = line, i + 1
        if line.count('"') % 2:
            while j < len(phys) and j - i <= MAX_QUOTED_LINES and (j + 1) not in bad_rows \
                    and not _complete_record(phys[j], ncol):
                text += "\n" + phys[j]
                j += 1
                if text.count('"') % 2 == 0:
                    break
            if text.count('"') % 2:
                rejects.append((row, "unterminated quote: a quoted field never ends; this line was not read", line))
                i += 1
                continue
        i = j
        try:
            parsed = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as e:  # e.g. a field longer than the csv module allows
            rejects.append((row, f"unreadable quoting: {e}", text))
            continue
        if len(parsed) != 1 or not any(f.strip() for f in parsed[0]):
            rejects.append((row, "unreadable quoting: the record has no readable field", text))
        elif len(parsed[0]) != ncol:
            rejects.append((row, f"wrong field count: {len(parsed[0])} fields where the header has {ncol}", text))
        else:
            recs.append((row, [f.strip() for f in parsed[0]], text))
    out.rows = _frame(header, known, recs).select(*known, "_row", "_raw", "_extra")
    out.rejects = sorted(rejects)
    # A quoted field may span lines (a narrative with a line break): the unit of account is the record.
    out.detail_lines = out.rows.height + len(out.rejects)
    return out
