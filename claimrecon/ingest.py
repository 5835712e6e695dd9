"""Ingest of one monthly inbox into the staging warehouse.

Every physical record of every file ends up in exactly one place: loaded (with provenance) or in
``rejected_records`` under its ``FE-*`` rule. A pipe-delimited extract whose control trailer is
missing or wrong refuses the whole run (``RunRefused``): nothing is published.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import polars as pl

from claimrecon import progress
from claimrecon.errors import RunRefused, describe_os_error, printable
from claimrecon.readers import Batch, RawFile, read_files, sha256_of
from contracts import clock
from contracts import front_end as fe


@dataclass(frozen=True)
class Kind:
    name: str
    folder: str
    pattern: str
    sep: str
    trailer_total: str | None  # column summed by the control trailer (pipe extracts only)
    table: str


KINDS: dict[str, Kind] = {
    "claims": Kind("claims", "claims", "*.txt", "|", "billed_amount", "claims"),
    "authorizations": Kind("authorizations", "authorizations", "*.txt", "|", "authorized_units", "sa_lines"),
    "service_logs": Kind("service_logs", "service_logs", "*.csv", ",", None, "contacts"),
    "recipients": Kind("recipients", "reference", "recipients.csv", ",", None, "recipients"),
    "providers": Kind("providers", "reference", "providers.csv", ",", None, "providers"),
    "staff": Kind("staff", "reference", "staff.csv", ",", None, "staff"),
    # revision 2, optional: a missing file means no stays (or, after a first drop, the previous snapshot)
    "facility_stays": Kind("facility_stays", "reference", "facility_stays.csv", ",", None, "facility_stays"),
}


def period_dir(inbox: Path, period: str) -> Path:
    return Path(inbox) / period


class Found(dict):
    """The files of each kind (kind -> paths, sorted by name) and, in ``refused``, every other entry of
    the month's folder with the reason it is not read: (name relative to the inbox, kind or 'unknown',
    reason). Nothing in the month's folder goes unaccounted for."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.refused: list[tuple[str, str, str]] = []


def _suffix_matches(name: str, pattern: str) -> bool:
    """Case-insensitive name match: `*.txt` takes `X.TXT`, `recipients.csv` takes `Recipients.CSV`."""
    name, pattern = name.lower(), pattern.lower()
    return name.endswith(pattern[1:]) if pattern.startswith("*") else name == pattern


def _lexical(path: Path) -> Path:
    """An absolute path without following links (links are judged, never followed)."""
    return Path(os.path.abspath(path))


def _link_reason(path: Path, inbox: Path) -> str:
    try:
        target = Path(os.path.realpath(path))
    except OSError:
        target = None
    if target is None or not target.is_relative_to(Path(os.path.realpath(inbox))):
        return "a symbolic link that leads outside the inbox: refused, not followed"
    return "a symbolic link: refused, not followed (copy the file itself into the inbox)"


def discover(inbox: Path, period: str) -> Found:
    """Every entry of ``<inbox>/<period>/``: the files of each kind (names matched case-insensitively)
    and every other entry refused with its reason (symbolic links, which are never followed; folders
    and files where no kind is expected; names no kind takes; anything not a regular file)."""
    from claimrecon.errors import RunRefused, describe_os_error, printable

    inbox_abs = _lexical(inbox)
    root = inbox_abs / period
    if root.is_symlink():
        raise RunRefused(f"the month folder {printable(period)} is a symbolic link: refused, not followed")
    found = Found({k: [] for k in KINDS})
    folders: dict[str, list[Kind]] = {}
    for k in KINDS.values():
        folders.setdefault(k.folder, []).append(k)

    def refuse(path: Path, kind: str, reason: str) -> None:
        found.refused.append((os.path.relpath(path, inbox_abs), kind, reason))

    for top in sorted(root.iterdir()):
        kinds = folders.get(top.name)
        if top.is_symlink():
            refuse(top, kinds[0].name if kinds and len(kinds) == 1 else "unknown", _link_reason(top, inbox_abs))
        elif kinds is None:
            refuse(top, "unknown", "not one of the inbox folders (" + ", ".join(sorted(folders)) + ")"
                   if top.is_dir() else "a file outside the inbox folders (" + ", ".join(sorted(folders)) + ")")
        elif not top.is_dir():
            refuse(top, "unknown", f"{top.name} should be a folder")
        else:
            for p in sorted(top.iterdir()):
                kind = next((k for k in kinds if _suffix_matches(p.name, k.pattern)), None)
                guess = kind.name if kind else (kinds[0].name if len(kinds) == 1 else "unknown")
                mode = p.lstat().st_mode
                if stat.S_ISLNK(mode):
                    refuse(p, guess, _link_reason(p, inbox_abs))
                elif stat.S_ISDIR(mode):
                    n = sum(1 for _ in p.rglob("*"))
                    refuse(p, guess, f"a folder inside {top.name}/ ({n} entries): not read")
                elif not stat.S_ISREG(mode):
                    refuse(p, guess, "not a regular file (a pipe, socket or device): not read")
                elif kind is None:
                    expected = " or ".join(k.pattern for k in kinds)
                    refuse(p, guess, f"the name does not match {expected}: not read")
                else:
                    found[kind.name].append(p)
    return found


def relative_name(inbox: Path, path: Path) -> str:
    return os.path.relpath(_lexical(path), _lexical(inbox))


# ---------------------------------------------------------------------------- file registry

#: Kinds whose drop is a record stream (each file new records) rather than the full current state.
STREAMS = ("claims", "service_logs")


def snapshot_in_force(con: duckdb.DuckDBPyConnection, period: str, kind: str) -> tuple[str | None, set[str]]:
    """The snapshot of a kind in force for `period` before its own drop: the latest earlier period that
    loaded that kind, and the SHA-256 of the files it loaded (never a later period's)."""
    # fetchall, not fetchone: a result left unfinished blocks the connection's next register()
    row = con.execute("SELECT max(period) FROM input_files WHERE kind = ? AND status = 'loaded' AND period < ?",
                      [kind, period]).fetchall()[0]
    if row[0] is None:
        return None, set()
    shas = {r[0] for r in con.execute("SELECT file_sha256 FROM input_files WHERE kind = ? AND status = 'loaded' "
                                       "AND period = ?", [kind, row[0]]).fetchall()}
    return row[0], shas


def register_files(con: duckdb.DuckDBPyConnection, inbox: Path, period: str, files: dict[str, list[Path]]) -> dict:
    """Hash every file and decide which are FE-DUPLICATE-FILE (skipped and reported), rules.md
    Clarification 14. Returns {source_file: (kind, sha, status)}.

    - Claims and service logs: a file whose content was loaded for an earlier period, or already appears
      earlier in this drop, is a duplicate.
    - Authorizations and reference snapshots: a drop is the full current state, so it is compared with the
      snapshot in force (the latest earlier period's drop of that kind). A drop identical to it is skipped
      (nothing changes); a drop identical to an older, superseded snapshot is loaded and becomes current.
      A file repeated within one drop is loaded once.
    Only earlier periods count: re-running a period after later ones reads its own files again.

    Entries ``discover`` refused are recorded in ``input_files`` (status 'refused', with the reason). A month
    with no claims file to read is refused: publishing it would replace the month's results with nothing. A
    file that cannot be read (permissions, I/O) refuses the run, naming the file and the cause."""
    earlier = {r[0]: r[1] for r in con.execute(
        "SELECT file_sha256, min(period || ' ' || source_file) FROM input_files "
        "WHERE period < ? AND status = 'loaded' GROUP BY 1", [period]).fetchall()}
    plan: dict[str, tuple[str, str, str]] = {}
    for name, kind, reason in getattr(files, "refused", []):
        plan[name] = (kind, "", "refused")
        con.execute("INSERT INTO input_files VALUES (?, ?, ?, NULL, 'refused', NULL, 0, 0, NULL, NULL, NULL, ?, NULL)",
                    [period, kind, name, reason])
    reasons: dict[str, str] = {}
    total, done = sum(len(v) for v in files.values()), 0
    for kind, paths in files.items():
        seen: dict[str, str] = {}
        hashed = []
        for p in paths:
            name = relative_name(inbox, p)
            try:
                hashed.append((name, sha256_of(p)))
            except OSError as e:
                raise RunRefused(f"{printable(name)}: {describe_os_error(e)}: the file cannot be read") from None
            done += 1
            progress.count(done, total, "files hashed")
        in_force_period, in_force = (None, set()) if kind in STREAMS else snapshot_in_force(con, period, kind)
        same_snapshot = bool(hashed) and in_force_period is not None and {sha for _, sha in hashed} == in_force
        for name, sha in hashed:
            if kind in STREAMS and sha in earlier:
                reasons[name] = f"same content as {earlier[sha]}"
            elif same_snapshot:
                reasons[name] = f"the {kind} snapshot in force (loaded for {in_force_period}) has the same content: nothing changes"
            elif sha in seen:
                reasons[name] = f"same content as {period} {seen[sha]}"
            else:
                seen[sha] = name
                plan[name] = (kind, sha, "pending")
                continue
            plan[name] = (kind, sha, "duplicate")
            con.execute("INSERT INTO rejected_records VALUES (?, ?, 0, ?, 'FE-DUPLICATE-FILE', ?, ?, ?)",
                        [period, name, kind, f"{reasons[name]}: skipped, not loaded twice", name, sha])
            con.execute("INSERT INTO input_files VALUES (?, ?, ?, ?, 'duplicate', NULL, 0, 0, NULL, NULL, NULL, ?, NULL)",
                        [period, kind, name, sha, reasons[name]])
    if not any(k == "claims" and status == "pending" for k, _, status in plan.values()):
        refused = {name: reason for name, _, reason in getattr(files, "refused", [])}
        why = "; ".join(f"{printable(n)}: {refused.get(n) or reasons.get(n) or status}"
                        for n, (k, _, status) in sorted(plan.items()) if k == "claims")
        raise RunRefused(f"no claims file of {period} can be read" + (f" ({why})" if why else "")
                         + ": publishing would replace the month's results with nothing")
    return plan


# ---------------------------------------------------------------------------- control trailers

def _control(raw: RawFile, name: str, total: Decimal) -> tuple[int, Decimal]:
    if raw.trailer is None:
        raise RunRefused(f"{name}: FE-CONTROL: the control trailer (TRL|count|total) is missing; the file was refused")
    t = raw.trailer
    if t.count is None or t.total is None:
        raise RunRefused(f"{name}: FE-CONTROL: the control trailer is unreadable; the file was refused")
    if t.count != raw.detail_lines:
        raise RunRefused(f"{name}: FE-CONTROL: the trailer counts {t.count} detail lines but the file has "
                         f"{raw.detail_lines}; the file was refused")
    if total != t.total:
        raise RunRefused(f"{name}: FE-CONTROL: the trailer total {t.total} does not match {total} summed "
                         f"from the detail lines; the file was refused")
    return t.count, t.total


PLAIN_NUMBER = r"^[+-]?[0-9]{1,18}(\.[0-9]{1,9})?$"  # ASCII digits: `\d` is Unicode in Polars


def _column_totals(batch: Batch, kind: Kind) -> dict[int, Decimal]:
    """Per file: the sum of the trailer's column over every detail line where it can be read (by header
    position), exactly. Plain numbers are summed as Polars decimals; anything else (rare) in Python."""
    col = kind.trailer_total
    totals: dict[int, Decimal] = {i: Decimal("0") for i in range(len(batch.files))}
    rows = batch.rows.select("_file", col) if col in batch.rows.columns else batch.rows  # not every column
    if rows.height and col in rows.columns:
        v = pl.col(col).str.strip_chars()
        plain = rows.filter(v.str.contains(PLAIN_NUMBER))
        for f, t in (plain.group_by("_file").agg(v.cast(pl.Decimal(38, 9)).sum()).iter_rows()):
            totals[f] += Decimal(t)
        odd = rows.filter(pl.col(col).is_not_null() & ~v.str.contains(PLAIN_NUMBER)).select("_file", col)
        extra = list(odd.iter_rows())
    else:
        extra = []
    for i, raw in enumerate(batch.files):
        if col in raw.header:
            j = raw.header.index(col)
            extra += [(i, parts[j]) for _, _, ln in raw.rejects if len(parts := ln.split(kind.sep)) > j]
    for i, value in extra:
        totals[i] += _readable_amount(value)
    return totals


# ---------------------------------------------------------------------------- loading

def load_kind(con: duckdb.DuckDBPyConnection, inbox: Path, period: str, kind_name: str,
              plan: dict, catalog_keys: list[str]) -> dict:
    """Read, edit and load every pending file of one kind. Returns counts for metadata.

    All files of a kind are read first (each checked against its control trailer), then the
    front-end contract runs once over their union and the survivors are inserted in one statement:
    the per-file cost of a contract is paid once, however many provider files arrive."""
    kind = KINDS[kind_name]
    stats = {"files": 0, "detail_lines": 0, "loaded": 0, "rejected": 0}
    pending = [(name, sha) for name, (k, sha, status) in sorted(plan.items()) if k == kind_name and status == "pending"]
    if not pending:
        return stats
    names = [n for n, _ in pending]
    try:
        batch = read_files([_lexical(inbox) / n for n in names], fe.columns(kind_name), kind.sep,
                           trailer=kind.trailer_total is not None)
    except OSError as e:
        raise RunRefused(f"{printable(relative_name(inbox, e.filename) if e.filename else kind_name)}: "
                         f"{describe_os_error(e)}: the file cannot be read") from None
    for (name, sha), raw in zip(pending, batch.files):
        if raw.sha256 != sha:  # the hash recorded must be that of what is loaded
            raise RunRefused(f"{printable(name)}: the file changed after the run registered it (SHA-256 "
                             f"{sha[:12]}… then, {raw.sha256[:12]}… when read): is it still being written? "
                             "Re-run when the inbox is complete")
    sums = _column_totals(batch, kind) if kind.trailer_total is not None else {}
    controls: dict[str, tuple[int | None, Decimal | None]] = {}
    rejects: list[tuple[str, int, str, str, str]] = []  # (file, row, rule, message, raw)
    for i, (name, raw) in enumerate(zip(names, batch.files)):
        controls[name] = _control(raw, name, sums[i]) if kind.trailer_total is not None else (None, None)
        rejects += [(name, r, "FE-PARSE", msg, rawtxt) for r, msg, rawtxt in raw.rejects]
    # `_file` is the file's index in `names` until the insert (3 M repeated file names cost memory).
    # The records are never copied: each edit adds the positions (`_pos`) it rejects to `gone`, the survivors
    # are inserted from the same frame with a mask.
    frame = batch.rows.with_row_index("_pos")
    fails = fe.validate(kind_name, frame, catalog_keys)
    gone = [fails.select(pl.col("_idx").cast(pl.UInt32).alias("_pos"))]
    bad = None
    if fails.height:
        wanted = ["_pos", "_file", "_row", "_raw"] + (["icn"] if kind_name == "claims" else [])
        bad = frame.select(wanted).join(fails.with_columns(pl.col("_idx").cast(pl.UInt32)), left_on="_pos",
                                        right_on="_idx")
        rejects += [(names[f], r, rule, msg, raw) for f, r, rule, msg, raw in
                    bad.select("_file", "_row", "rule_id", "message", "_raw").iter_rows()]
    # the last front-end edit, by parsing (before the adjustment edits: a line rejected here rejects its
    # whole void or replacement, rules.md Clarification 6)
    cast_bad = _cast_failure_rows(con, kind_name, frame, gone[0]["_pos"])
    rejects += [(names[f], r, "FE-VALUE", msg, raw) for f, r, msg, raw in
                cast_bad.select("_file", "_row", "message", "_raw").iter_rows()]
    gone.append(cast_bad.select("_pos"))
    if kind_name == "claims":
        rejected = _rejected_icns(batch, bad)
        rejected |= set(cast_bad["icn"].drop_nulls().to_list())
        done = pl.concat(gone)["_pos"]
        lines = frame.select(pl.col("_pos").alias("_i"), "icn", "line_no", "adjustment_ind", "original_icn",
                             "received_date")
        idx, adjustments = _history_verdicts(con, period, lines.filter(~pl.col("_i").is_in(done.implode()))
                                             if done.len() else lines, rejected)
        if idx.height:
            rej = frame.select("_pos", "_file", "_row", "_raw").join(idx, left_on="_pos", right_on="_i").sort("_pos")
            rejects += [(names[f], r, rule, msg, raw) for f, r, rule, msg, raw in
                        rej.select("_file", "_row", "rule_id", "message", "_raw").iter_rows()]
            gone.append(idx.select(pl.col("_i").alias("_pos")))
        con.execute("DELETE FROM claim_adjustments WHERE period = ?", [period])
        if adjustments.height:
            con.register("_adj", adjustments.to_arrow())
            con.execute("INSERT INTO claim_adjustments SELECT * FROM _adj ORDER BY icn")
            con.unregister("_adj")
    done = pl.concat(gone)["_pos"]
    keep = ~frame["_pos"].is_in(done) if done.len() else pl.repeat(True, frame.height, dtype=pl.Boolean, eager=True)
    frame = frame.drop("_pos")
    rejects.sort(key=lambda r: (r[0], r[1]))
    _insert_rejects(con, period, kind_name, dict(pending), rejects)
    if kind_name == "claims":
        _insert_rejected_claims(con, period, {n: raw.header for n, raw in zip(names, batch.files)}, rejects)
    _insert(con, period, kind_name, frame, names, [sha for _, sha in pending], keep)
    loaded_by_file = ({names[f]: n for f, n in frame.select("_file").filter(keep).group_by("_file").len().iter_rows()}
                      if frame.height else {})
    rejected_by_file: dict[str, int] = {}
    for r in rejects:
        rejected_by_file[r[0]] = rejected_by_file.get(r[0], 0) + 1
    totals: dict[str, Decimal] = {}
    if kind.trailer_total and loaded_by_file:
        col = "billed_amount" if kind_name == "claims" else "authorized_units"
        totals = dict(con.execute(f"SELECT source_file, sum({col}) FROM {kind.table} WHERE period = ? GROUP BY 1",
                                  [period]).fetchall())
    rejected_totals = _rejected_totals(kind, {n: raw.header for n, raw in zip(names, batch.files)}, rejects) \
        if kind.trailer_total else {}
    files_rows = []
    for (name, sha), raw in zip(pending, batch.files):
        loaded, rejected = loaded_by_file.get(name, 0), rejected_by_file.get(name, 0)
        count, total = controls[name]
        # read and accounted for (loaded + rejected = detail lines); a file-level problem is the reason
        files_rows.append([period, kind_name, name, sha, raw.detail_lines, loaded, rejected, count, total,
                           totals.get(name), raw.problem, rejected_totals.get(name)])
        if loaded + rejected != raw.detail_lines:
            _insert_input_files(con, files_rows)
            raise RunRefused(f"{name}: conservation failed: {raw.detail_lines} detail lines but {loaded} loaded "
                             f"and {rejected} rejected")
        stats["files"] += 1
        stats["detail_lines"] += raw.detail_lines
        stats["loaded"] += loaded
        stats["rejected"] += rejected
    _insert_input_files(con, files_rows)
    return stats


_INPUT_FILE = "INSERT INTO input_files VALUES (?, ?, ?, ?, 'loaded', ?, ?, ?, ?, ?, ?, ?, ?)"
_PLAIN_FILE = {"period": pl.Utf8, "kind": pl.Utf8, "source_file": pl.Utf8, "file_sha256": pl.Utf8,
               "detail_lines": pl.Int64, "loaded_rows": pl.Int64, "rejected_rows": pl.Int64, "control_count": pl.Int64,
               "reason": pl.Utf8}


def _insert_input_files(con, rows: list[list]) -> None:
    """The `input_files` rows of the loaded files, in order. A statement per row costs ~3 ms (a commit each:
    4.8 s for a state's 1,508 log files), so rows without amounts (service logs) go in one INSERT from Arrow;
    a row with a control or loaded total keeps the one-row statement, its Decimals bound exactly as before."""
    plain: list[list] = []

    def flush() -> None:
        if plain:
            df = pl.DataFrame([r[:8] + [r[10]] for r in plain], schema=_PLAIN_FILE, orient="row")
            con.register("_if", df.to_arrow())
            try:
                con.execute("""INSERT INTO input_files SELECT period, kind, source_file, file_sha256, 'loaded', detail_lines,
                               loaded_rows, rejected_rows, control_count, NULL, NULL, reason, NULL FROM _if""")
            finally:
                con.unregister("_if")
            plain.clear()

    for r in rows:
        if r[8] is None and r[9] is None and r[11] is None and (r[7] is None or isinstance(r[7], int)):
            plain.append(r)
        else:
            flush()
            con.execute(_INPUT_FILE, r)
    flush()


def _readable_amount(value: str | None) -> Decimal:
    """A trailer column's value as the control total counts it: ASCII decimal, finite; else nothing."""
    v = (value or "").strip()
    if not v.isascii():  # Python's Decimal reads '١٢٠' as 120; the extract's digits are ASCII
        return Decimal(0)
    try:
        d = Decimal(v)
    except InvalidOperation:
        return Decimal(0)
    return d if d.is_finite() else Decimal(0)


def _rejected_totals(kind: Kind, headers: dict[str, list[str]], rejects) -> dict[str, Decimal]:
    """Per file, the trailer column summed over the rejected records, from their raw text (exact, any
    width): with the loaded total it accounts for every dollar (or unit) of the control total."""
    out: dict[str, Decimal] = {name: Decimal(0) for name in headers}
    for name, _row, _rule, _msg, text in rejects:
        header = headers[name]
        if kind.trailer_total in header:
            parts = text.split(kind.sep)
            j = header.index(kind.trailer_total)
            if j < len(parts):
                out[name] += _readable_amount(parts[j])
    return out


def _insert_rejects(con, period, kind, shas: dict[str, str], rejects) -> None:
    if not rejects:
        return
    df = pl.DataFrame(
        {"period": [period] * len(rejects), "source_file": [r[0] for r in rejects],
         "row_number": [r[1] for r in rejects], "record_kind": [kind] * len(rejects),
         "rule_id": [r[2] for r in rejects], "message": [r[3] for r in rejects],
         "raw_record": [r[4] for r in rejects], "file_sha256": [shas[r[0]] for r in rejects]},
        schema={"period": pl.Utf8, "source_file": pl.Utf8, "row_number": pl.Int64, "record_kind": pl.Utf8,
                "rule_id": pl.Utf8, "message": pl.Utf8, "raw_record": pl.Utf8, "file_sha256": pl.Utf8})
    con.register("_rej", df.to_arrow())
    con.execute("INSERT INTO rejected_records SELECT * FROM _rej")
    con.unregister("_rej")


def _insert_rejected_claims(con, period, headers: dict[str, list[str]], rejects) -> None:
    """A rejected claim line still appears in claim_outcomes (outcome 'rejected'): keep what can be
    read of it (icn, line number, units, amount) in `claims_rejected`."""
    if not rejects:
        return
    recs = []
    for name, row, rule, _msg, text in rejects:
        header = headers[name]
        parts = text.split("|")
        get = (lambda c: parts[header.index(c)].strip() if c in header and header.index(c) < len(parts) else None)
        recs.append({"icn": get("icn"), "line_no": get("line_no"), "adjustment_ind": get("adjustment_ind"),
                     "billing_provider_id": get("billing_provider_id"), "procedure_code": get("procedure_code"),
                     "received_date": get("received_date"), "units": get("units"),
                     "billed_amount": get("billed_amount"), "rule_id": rule, "source_file": name, "source_row": row})
    df = pl.DataFrame(recs, schema={k: (pl.Int64 if k == "source_row" else pl.Utf8) for k in recs[0]})
    con.register("_rc", df.to_arrow())
    con.execute("""INSERT INTO claims_rejected SELECT ?,
        CASE WHEN regexp_full_match(icn, '[0-9A-Z]{13,20}') THEN icn END,
        TRY_CAST(line_no AS INTEGER), adjustment_ind,
        CASE WHEN length(billing_provider_id) <= 10 THEN billing_provider_id END,
        CASE WHEN length(procedure_code) <= 5 THEN procedure_code END,
        TRY_CAST(received_date AS DATE),
        coalesce(TRY_CAST(TRY_CAST(units AS DECIMAL(18,2)) AS DECIMAL(12,2)), 0),
        coalesce(TRY_CAST(TRY_CAST(billed_amount AS DECIMAL(18,2)) AS DECIMAL(12,2)), 0),
        rule_id, source_file, source_row FROM _rc""", [period])
    con.unregister("_rc")


def _rejected_icns(batch: Batch, bad: pl.DataFrame | None) -> set[str]:
    """The ICNs of claim lines rejected at the front end so far: by the contract (`bad`), or for their
    structure (the ICN read from the raw text by its header position, when it can be)."""
    icns = set(bad["icn"].drop_nulls().to_list()) if bad is not None and bad.height else set()
    for raw in batch.files:
        if "icn" in raw.header:
            j = raw.header.index("icn")
            icns.update(parts[j].strip() for _, _, ln in raw.rejects if len(parts := ln.split("|")) > j)
    return icns


def _claim_history_edits(con, period: str, frame: pl.DataFrame,
                         rejected_icns: set[str] = frozenset()) -> tuple[pl.DataFrame, list, pl.DataFrame]:
    """FE-ADJUSTMENT that needs the claim history (rules.md Clarification 6), and ICNs already received
    in an earlier period (FE-VALUE). Returns the surviving lines, the rejects and the period's valid
    adjustments (the `claim_adjustments` rows: which claim each void or replacement reverses, the period
    that judged it, and whether that is this period).

    Claims are taken in order of judgement (received date, ICN, line; a claim at its first line). A void
    or replacement names the claim's current version: an original or replacement not yet voided or
    replaced, known from an earlier period or earlier in order this period (an adjustment earlier in order
    than its original names a claim unknown at that point). A void carries exactly the line numbers of the
    original's lines accepted at the front end. A void or replacement any line of which was rejected at
    the front end (`rejected_icns`) is rejected whole and the original stands. Originals are sound on their
    own lines alone, so they are decided set-based; only voids and replacements (a handful a month) depend
    on what came before them, and go one by one."""
    if frame.height == 0:
        return frame, [], pl.DataFrame(schema=ADJ_SCHEMA)
    frame = frame.with_row_index("_i")
    idx, adjustments = _history_verdicts(con, period, frame.select(
        "_i", "icn", "line_no", "adjustment_ind", "original_icn", "received_date"), rejected_icns)
    rejects: list = []
    if idx.height:
        rej = frame.select("_i", "_file", "_row", "_raw").join(idx, on="_i").sort("_i")
        rejects = list(rej.select("_file", "_row", "rule_id", "message", "_raw").iter_rows())
        frame = frame.filter(~pl.col("_i").is_in(idx["_i"].implode()))
    return frame.drop("_i"), rejects, adjustments


def _history_verdicts(con, period: str, lines: pl.DataFrame,
                      rejected_icns: set[str] = frozenset()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`_claim_history_edits` on the columns it reads (`_i`, icn, line_no, adjustment_ind, original_icn,
    received_date): the lines it rejects (_i, rule_id, message) and the period's valid adjustments. Sorting
    and joining only these, not the whole records, keeps a state's 3 M lines cheap."""
    c = pl.col
    if lines.height == 0:
        return pl.DataFrame(schema={"_i": lines.schema["_i"], "rule_id": pl.Utf8, "message": pl.Utf8}), \
            pl.DataFrame(schema=ADJ_SCHEMA)
    # ICNs already received in an earlier period: a repeated key, not a new claim (FE-VALUE comes first).
    con.register("_icns", lines.select(c("icn").unique()).to_arrow())
    try:
        repeated = {r[0] for r in con.execute(
            "SELECT DISTINCT icn FROM claims WHERE period < ? AND icn IN (SELECT icn FROM _icns)", [period]).fetchall()}
    finally:
        con.unregister("_icns")
    bad = lines.filter(c("icn").is_in(list(repeated))).select(
        "_i", pl.lit("FE-VALUE").alias("rule_id"), pl.lit("icn was already received in another period").alias("message"))
    rejected_icns = set(rejected_icns) | repeated
    # the claims this period's voids and replacements name, as earlier periods left them: each one's kind, the
    # period that judged it, its accepted lines, and whether it was already voided or replaced
    named = lines.filter(c("adjustment_ind").is_in(fe.ADJUSTING)).select(c("original_icn").drop_nulls().unique())
    con.register("_named", named.to_arrow())
    try:
        hist = con.execute("""SELECT icn, any_value(adjustment_ind), min(period), list(DISTINCT line_no ORDER BY line_no)
                              FROM claims WHERE period < ? AND icn IN (SELECT original_icn FROM _named)
                              GROUP BY icn""", [period]).fetchall()
        superseded = {r[0] for r in con.execute(
            """SELECT DISTINCT original_icn FROM claims WHERE period < ? AND adjustment_ind IN ('1', '4')
               AND original_icn IN (SELECT original_icn FROM _named)""", [period]).fetchall()}
    finally:
        con.unregister("_named")
    kind_of = {icn: adj for icn, adj, _, _ in hist}
    judged_in = {icn: per for icn, _, per, _ in hist}
    lines_of = {icn: set(lines) for icn, _, _, lines in hist}
    live = lines.filter(~c("_i").is_in(bad["_i"].implode())) if bad.height else lines
    claims = (live.sort(["received_date", "icn", c("line_no").cast(pl.Int64)]).with_row_index("_pos")
              .group_by("icn").agg(c("_pos").min(), c("adjustment_ind").first().alias("adj"),
                                   c("original_icn").first().alias("orig"),
                                   c("line_no").cast(pl.Int64).alias("lines"),
                                   (pl.struct("adjustment_ind", "original_icn").n_unique() > 1).alias("disagree"))
              .sort("_pos"))
    reason = (pl.when(c("disagree")).then(pl.lit("the lines of the claim disagree on adjustment_ind or original_icn")))
    claims = claims.with_columns(reason.alias("reason"))
    # only the claims some adjustment names matter below (a state's month has a few hundred thousand claims)
    named_claims = claims.join(named, left_on="icn", right_on="original_icn", how="semi")
    pos_of = dict(named_claims.select("icn", "_pos").iter_rows())
    # originals of this period are accepted on their own lines alone, at their place in order
    for icn, lines in (named_claims.filter(c("reason").is_null() & ~c("adj").is_in(fe.ADJUSTING))
                       .select("icn", "lines").iter_rows()):
        kind_of[icn], judged_in[icn], lines_of[icn] = "0", period, set(lines)
    this_period = {icn for icn, per in judged_in.items() if per == period}
    verdict: dict[str, str] = {}
    accepted: list[tuple] = []
    for icn, pos, adj, orig, lines, why in (claims.filter(c("adj").is_in(fe.ADJUSTING))
                                            .select("icn", "_pos", "adj", "orig", "lines", "reason").iter_rows()):
        reasons = [why] if why else []
        if icn in rejected_icns:
            reasons.append("another line of this void or replacement was rejected at the front end (the original stands)")
        known = orig in kind_of and (orig not in this_period or pos_of.get(orig, -1) < pos)
        if not orig:
            pass  # the contract already rejected its lines (no original_icn)
        elif not known and pos_of.get(orig, -1) > pos:
            reasons.append("the claim named by original_icn comes later in order of judgement (unknown at this point)")
        elif not known and (orig in pos_of or orig in rejected_icns):
            reasons.append("the claim named by original_icn was rejected at the front end")
        elif not known:
            reasons.append("the void or replacement names a claim never received")
        elif kind_of[orig] == "1":
            reasons.append("the claim named by original_icn is a void (nothing is left to adjust)")
        elif orig in superseded:
            reasons.append("the claim named by original_icn was already voided or replaced (adjust its current version "
                           "by its own ICN)")
        elif adj == "1" and set(lines) != lines_of[orig]:
            reasons.append("the void's line numbers differ from the original's accepted lines")
        if reasons:
            verdict[icn] = "; ".join(reasons)
            continue
        superseded.add(orig)
        kind_of[icn], judged_in_orig = adj, judged_in[orig]
        judged_in[icn], lines_of[icn] = period, set(lines)
        this_period.add(icn)
        accepted.append((period, icn, adj, orig, judged_in_orig, judged_in_orig == period))
    adj_bad = claims.filter(c("reason").is_not_null() & ~c("adj").is_in(fe.ADJUSTING)).select("icn", "reason")
    if verdict:
        adj_bad = pl.concat([adj_bad, pl.DataFrame({"icn": list(verdict), "reason": list(verdict.values())},
                                                   schema={"icn": pl.Utf8, "reason": pl.Utf8})])
    adj_rows = (live.join(adj_bad, on="icn")
                .select("_i", pl.lit("FE-ADJUSTMENT").alias("rule_id"), c("reason").alias("message")))
    idx = pl.concat([bad, adj_rows]).sort("_i")
    return idx, pl.DataFrame(accepted, schema=ADJ_SCHEMA, orient="row")


#: The interface to the judging step (`claim_adjustments`): one row per void or replacement accepted this
#: period, the claim version it reverses, the period that judged that version, and whether it is this one.
ADJ_SCHEMA = {"period": pl.Utf8, "icn": pl.Utf8, "adjustment_ind": pl.Utf8, "original_icn": pl.Utf8,
              "original_period": pl.Utf8, "original_this_period": pl.Boolean}


_CAST = re.compile(r"CAST\((\w+) AS ([A-Z]+(?:\(\d+,\s*\d+\))?)\)")


def cast_columns(kind: str) -> dict[str, str]:
    """Every raw column the kind's INSERT casts, with the DuckDB type it is cast to (read from the
    INSERT itself, so the check and the cast cannot drift apart)."""
    return {col: typ for col, typ in _CAST.findall(INSERTS[kind]) if not col.startswith("_")}


def _cast_failures(con, kind: str, frame: pl.DataFrame) -> tuple[pl.DataFrame, list]:
    """The last front-end edit, by parsing: each value the INSERT will cast is TRY_CAST first, by DuckDB
    itself; a record with a value that does not convert is rejected (FE-VALUE, naming the column and the
    type), so one record the regular expressions let through cannot stop the month."""
    frame = frame.with_row_index("_pos")
    bad = _cast_failure_rows(con, kind, frame)
    rejects = [(f, r, "FE-VALUE", msg, raw) for f, r, msg, raw in bad.select("_file", "_row", "message", "_raw").iter_rows()]
    if bad.height:
        frame = frame.filter(~pl.col("_pos").is_in(bad["_pos"].implode()))
    return frame.drop("_pos"), rejects


def _cast_failure_rows(con, kind: str, frame: pl.DataFrame, skip: pl.Series | None = None) -> pl.DataFrame:
    """`_cast_failures` over a frame with `_pos` (records at positions in `skip`, rejected already, are not
    looked at): the failing records' _pos, _file, _row, _raw (and icn, for claims) and message, in order.
    DuckDB reads the columns from Arrow without a copy (string views) and returns only the failures."""
    cols = {c: t for c, t in cast_columns(kind).items() if c in frame.columns}
    extra = ["icn"] if "icn" in frame.columns else []
    empty = frame.select("_pos", "_file", "_row", "_raw", *extra).clear().with_columns(message=pl.lit(None, pl.Utf8))
    if frame.height == 0 or not cols:
        return empty
    first = " ".join(f"WHEN {c} IS NOT NULL AND TRY_CAST({c} AS {t}) IS NULL THEN '{c}'" for c, t in cols.items())
    con.register("_cc", frame.select("_pos", *cols).to_arrow(compat_level=pl.CompatLevel.newest()))
    try:
        bad = con.sql(f"SELECT _pos, CASE {first} END AS col FROM _cc WHERE col IS NOT NULL ORDER BY _pos").pl()
    finally:
        con.unregister("_cc")
    if skip is not None and skip.len() and bad.height:
        bad = bad.filter(~pl.col("_pos").is_in(skip.implode()))
    if bad.height == 0:
        return empty
    msg = pl.col("col") + pl.col("col").replace_strict(
        list(cols), [f" cannot be stored as {t} (too large, too precise or unreadable)" for t in cols.values()])
    bad = bad.select(pl.col("_pos").cast(pl.UInt32), msg.alias("message"))
    return frame.select("_pos", "_file", "_row", "_raw", *extra).join(bad, on="_pos").sort("_pos")


# `_file` is the record's index into $files / $shas (its file's name and SHA-256).
INSERTS = {
    "claims": """INSERT INTO claims SELECT $period, icn, CAST(line_no AS INTEGER), adjustment_ind, original_icn,
        CAST(received_date AS DATE), billing_provider_id, recipient_id, procedure_code, modifiers, pc.service_key,
        CAST(service_date AS DATE), CAST(units AS DECIMAL(12,2)), CAST(billed_amount AS DECIMAL(12,2)),
        place_of_service, diagnosis_code, _extra, $files[_file + 1], _row, $shas[_file + 1], patient_control_number
        FROM _in LEFT JOIN (SELECT DISTINCT procedure_code AS pcode, modifiers AS pmods, service_key
                            FROM procedure_codes WHERE period = $period) pc
          ON pc.pcode = _in.procedure_code AND pc.pmods = _in.modifiers""",
    "authorizations": """INSERT INTO sa_lines SELECT $period, sa_number, CAST(line_no AS INTEGER), sa_status, line_status,
        recipient_id, provider_id, procedure_code, modifiers, pc.service_key, CAST(start_date AS DATE),
        CAST(end_date AS DATE), CAST(authorized_units AS DECIMAL(12,2)), CAST(unit_rate AS DECIMAL(12,2)),
        waiver_program, coalesce(CAST(remote_exception_units AS DECIMAL(12,2)), 0), case_manager_id, _extra,
        $files[_file + 1], _row, $shas[_file + 1]
        FROM _in LEFT JOIN (SELECT DISTINCT procedure_code AS pcode, modifiers AS pmods, service_key
                            FROM procedure_codes WHERE period = $period) pc
          ON pc.pcode = _in.procedure_code AND pc.pmods = _in.modifiers""",
    "service_logs": """INSERT INTO contacts SELECT $period, log_id, provider_id, staff_id, recipient_id, procedure_code,
        modifiers, pc.service_key, CAST(service_date AS DATE), _start, _end, _start_ts, _end_ts, _dur,
        CAST(minutes AS INTEGER), delivery_mode, contact_method, two_way, activity, staff_location,
        coalesce(ratio, '1:1'), tcm_flag, narrative, _extra, $files[_file + 1], _row, $shas[_file + 1]
        FROM _in LEFT JOIN (SELECT DISTINCT procedure_code AS pcode, modifiers AS pmods, service_key
                            FROM procedure_codes WHERE period = $period) pc
          ON pc.pcode = _in.procedure_code AND pc.pmods = _in.modifiers""",
    "recipients": """INSERT INTO recipients BY NAME SELECT $period AS period, recipient_id,
        CAST(birth_date AS DATE) AS birth_date, waiver_program, CAST(span_start AS DATE) AS span_start,
        CAST(span_end AS DATE) AS span_end, living_arrangement, sleep_start, sleep_end,
        CAST(death_date AS DATE) AS death_date, _extra AS extra_columns, $files[_file + 1] AS source_file,
        _row AS source_row, $shas[_file + 1] AS file_sha256 FROM _in""",
    "facility_stays": """INSERT INTO facility_stays SELECT $period, recipient_id, facility_type, CAST(admit_date AS DATE),
        CAST(discharge_date AS DATE), _extra, $files[_file + 1], _row, $shas[_file + 1] FROM _in""",
    "providers": """INSERT INTO providers SELECT $period, provider_id, name, CAST(enrollment_start AS DATE),
        CAST(enrollment_end AS DATE), licenses, case_management_agency, _extra, $files[_file + 1], _row, $shas[_file + 1],
        tin FROM _in""",
    "staff": """INSERT INTO staff SELECT $period, staff_id, provider_id, role, CAST(hire_date AS DATE),
        CAST(end_date AS DATE), CAST(background_study_date AS DATE), high_school_graduate,
        CAST(qualifying_experience_months AS INTEGER), CAST(postsecondary_years AS DECIMAL(6,2)),
        supervisor_staff_id, CAST(training_hours_12m AS DECIMAL(8,2)), _extra, $files[_file + 1], _row, $shas[_file + 1] FROM _in""",
}


def _insert(con, period: str, kind: str, frame: pl.DataFrame, names: list[str], shas: list[str],
            keep: pl.Series | None = None) -> int:
    """Insert the surviving records (those `keep` marks, all without it); `_file` (an index into names/shas)
    becomes source_file and file_sha256. DuckDB reads the frame through Arrow string views (no copy) and
    leaves out the rejected records itself, so the 3 M records of a state's month are never copied."""
    n = frame.height if keep is None else int(keep.sum())
    if n == 0:
        return 0
    # The derived columns are computed on one- or few-column frames and attached as Series, re-cut to the
    # records' chunks (`_aligned`): an expression over the whole frame would first copy every column into one
    # chunk (the reader parses a state month in slices), a gigabyte of string views.
    cols = {k: frame[k] for k in frame.columns if k != "_raw"}
    if "modifiers" in cols:
        mods = pl.DataFrame([cols["modifiers"].fill_null("")])
        cols["modifiers"] = fe.via_unique(mods, "modifiers", fe.normalized_modifiers()).alias("modifiers")
    if kind == "service_logs":
        times = pl.DataFrame([cols["start_time"], cols["end_time"], cols["service_date"]])
        cols["_start"] = fe.via_unique(times, "start_time", fe.time_minutes("start_time")).alias("_start")
        cols["_end"] = fe.via_unique(times, "end_time", fe.time_minutes("end_time")).alias("_end")
        # real instants and elapsed minutes in America/Chicago (rules.md Clarification 1): start_ts/end_ts are UTC
        dates = pl.DataFrame([fe.via_unique(times, "service_date", fe.parsed_date("service_date")).alias("_d"),
                              cols["_start"], cols["_end"]])
        real = clock.contact_instants(dates, "_d", "_start", "_end")
        real = real.select("_dur", clock.as_timestamp("_start_utc").alias("_start_ts"),
                           clock.as_timestamp("_end_utc").alias("_end_ts"))
        cols.update({k: real[k] for k in ("_dur", "_start_ts", "_end_ts")})
    if kind == "claims":
        cols["original_icn"] = cols["original_icn"].cast(pl.Utf8)
    if keep is not None:
        cols["_keep"] = keep.alias("_keep")
    frame = _aligned(pl.DataFrame(list(cols.values())))
    con.register("_all", frame.to_arrow(compat_level=pl.CompatLevel.newest()))  # string views: no copy
    try:
        con.execute("CREATE OR REPLACE TEMP VIEW _in AS SELECT * FROM _all" + (" WHERE _keep" if keep is not None else ""))
        con.execute(INSERTS[kind], {"period": period, "files": names, "shas": shas})
    finally:
        con.execute("DROP VIEW IF EXISTS _in")
        con.unregister("_all")
    return n


def _aligned(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every column cut into the same chunks as its record columns (the reader parses a state
    month in slices). Arrow export needs aligned chunks, and Polars would otherwise copy every column into
    one chunk (gigabytes of string views); only the few columns computed since are re-cut (slices: no copy)."""
    lengths = max((tuple(frame[k].chunk_lengths()) for k in frame.columns), key=len, default=())
    if len(lengths) <= 1:
        return frame
    offsets = list(itertools.accumulate((0,) + lengths[:-1]))
    cols = []
    for k in frame.columns:
        col = frame[k]
        if tuple(col.chunk_lengths()) != lengths:
            col = col.rechunk()
            col = pl.concat([col.slice(o, n) for o, n in zip(offsets, lengths)], rechunk=False)
        cols.append(col)
    return pl.DataFrame(cols)


def load_procedure_codes(con, period: str, path: Path) -> list[str]:
    """The agency-editable procedure catalog, loaded per run. Returns 'CODE|MODS' keys for FE-CODE."""
    df = pl.read_csv(path, infer_schema=False).with_columns(
        pl.col(c).fill_null("") for c in ("modifiers", "ratio", "delivery", "groups", "source"))
    df = df.with_columns(fe.normalized_modifiers().alias("modifiers"))
    con.execute("DELETE FROM procedure_codes WHERE period = ?", [period])
    con.register("_pc", df.to_arrow())
    con.execute("""INSERT INTO procedure_codes SELECT ?, service_key, description, procedure_code, modifiers,
                   unit, ratio, delivery, groups, source FROM _pc""", [period])
    con.unregister("_pc")
    return (df["procedure_code"] + "|" + df["modifiers"]).to_list()


def clear_period(con, period: str) -> None:
    """Re-running a month replaces everything that month loaded or produced."""
    for table in ("input_files", "rejected_records", "claims", "sa_lines", "contacts", "recipients", "providers",
                  "staff", "facility_stays", "procedure_codes", "log_billability", "claim_outcomes", "denial_ledger", "findings",
                  "claims_rejected", "claim_adjustments"):
        con.execute(f"DELETE FROM {table} WHERE period = ?", [period])


def file_summary(plan: dict) -> str:
    return json.dumps({k: {"kind": v[0], "sha256": v[1]} for k, v in sorted(plan.items())}, sort_keys=True)
