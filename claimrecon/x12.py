"""ASC X12 835 (005010X221A1) Health Care Claim Payment/Advice, one per billing provider and period.

``reports/<YYYY-MM>/x12/<billing_provider_id>.835`` is what a provider's billing system posts without a
person. Everything on it is *read* from the warehouse, never computed again:

* one ``CLP`` per claim: its adjudicated lines from ``claim_outcomes`` (front-end rejects never reach an
  835), status ``1`` paid in full or in part, ``4`` denied, ``22`` the reversal of an earlier payment
  (a void's lines and the reversal rows of a replaced claim, grouped under the reversed ICN);
* one ``SVC`` per line with ``DTM*472`` and ``REF*6R``; its ``CAS`` segments are the line's
  ``denial_ledger`` rows summed per (group, CARC), zero sums left out; ``LQ*HE`` per RARC of those rows;
* ``BPR``/``PLB`` from ``provider_balances`` (:func:`record_balances`): a provider whose period nets below
  zero is paid nothing (``BPR01`` ``H``) and the negative is carried forward (``PLB`` ``FB``), then
  recovered by ``PLB`` ``FB`` on its later 835s.

So the 835 balances by construction: line ``SVC02 − ΣCAS = SVC03`` (the ledger balances every line),
claim ``CLP03 − ΣCAS = CLP04`` (sums of the lines), transaction ``ΣCLP04 − ΣPLB = BPR02``. The serializer
is this module: the envelope and header segments by :func:`segment`, the claim loops (millions of lines in
a state's month) set-based in DuckDB by ``DETAIL_SQL`` with the same element rules. pyx12 validates the
result in the tests and x12sdk reads it back.

Control numbers and dates derive from the period and the provider, so re-running a month writes the same
bytes. The files carry full recipient ids (``NM1*QC``), like the remittance CSVs: they go only to the
billing provider and are created owner-only.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from claimrecon.db import provider_slices
from claimrecon.errors import BalanceError

ELEMENT, COMPONENT, REPETITION, TERMINATOR = "*", ":", "^", "~"
ZERO = Decimal("0")


@dataclass(frozen=True)
class Payer:
    """The paying agency as its trading-partner agreement names it (N1*PR, PER*BL, TRN03, ISA06)."""

    name: str = "MINNESOTA DEPARTMENT OF HUMAN SERVICES"
    address: str = "540 CEDAR ST"
    city: str = "ST PAUL"
    state: str = "MN"
    zip: str = "55155"
    #: TRN03: "1" followed by the payer's federal tax id (set it from the trading-partner agreement).
    trace_payer_id: str = "1000000000"
    interchange_id: str = "MNDHS"
    contact: str = "MHCP PROVIDER RESOURCE CENTER"
    phone: str = "6514312700"
    usage: str = "P"  # ISA15: P production, T test


PAYER = Payer()


@dataclass
class Remittance:
    period: str
    provider_id: str
    name: str
    tin: str | None
    #: the claim loops (CLP … LQ) as X12 text, and how many segments it holds
    detail: str
    detail_segments: int
    #: (reason, reference, amount): positive amounts reduce the payment, negative ones add to it
    adjustments: list[tuple[str, str, Decimal]]
    payment: Decimal  # BPR02
    trace: str

    @property
    def umpi(self) -> bool:
        return not self.provider_id.isdigit()


# ---------------------------------------------------------------------------- values

def money(v: Decimal) -> str:
    """X12 R: no exponent, no trailing zeros, no negative zero ("76", "76.5", "-12.25")."""
    v = Decimal(v).quantize(Decimal("0.01"))
    if v == 0:
        return "0"
    text = f"{v:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def text(value: str | None, width: int = 60) -> str:
    """Free text as the X12 basic/extended character set allows: ASCII, no delimiters, no controls."""
    s = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode()
    s = re.sub(r"[*~:^\x00-\x1f\x7f]+", " ", s)
    return " ".join(s.split())[:width].strip()


def segment(tag: str, *elements) -> str:
    """One segment: elements joined by ``*`` (lists are composites joined by ``:``), trailing empties dropped."""
    parts = [COMPONENT.join(e).rstrip(COMPONENT) if isinstance(e, (list, tuple)) else ("" if e is None else str(e))
             for e in elements]
    while parts and parts[-1] == "":
        parts.pop()
    return ELEMENT.join([tag, *parts]) + TERMINATOR


def period_end(period: str) -> dt.date:
    start = dt.date.fromisoformat(period + "-01")
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def trace_number(period: str, provider_id: str) -> str:
    """TRN02: unique per payee and period, the same on a re-run."""
    return f"{period.replace('-', '')}{provider_id}"


def control_number(period: str, provider_id: str) -> str:
    """ISA13/GS06: nine digits from the period (YYYYMM) and the provider; one interchange per payee a month."""
    return f"{period.replace('-', '')}{zlib.crc32(provider_id.encode()) % 1000:03d}"


def file_name(provider_id: str) -> str:
    return f"{provider_id}.835"


# ---------------------------------------------------------------------------- the serializer

def render(r: Remittance, payer: Payer = PAYER) -> str:
    """The interchange (ISA … IEA) holding the provider's one 835 transaction."""
    date = period_end(r.period)
    ctl = control_number(r.period, r.provider_id)
    body: list[str] = [segment("ST", "835", "0001")]
    if r.payment > 0:
        body.append(segment("BPR", "I", money(r.payment), "C", "CHK", *[""] * 11, f"{date:%Y%m%d}"))
    else:
        body.append(segment("BPR", "H", "0", "C", "NON", *[""] * 11, f"{date:%Y%m%d}"))
    body += [segment("TRN", "1", r.trace, payer.trace_payer_id),
             segment("REF", "EV", r.provider_id),
             segment("DTM", "405", f"{date:%Y%m%d}"),
             segment("N1", "PR", text(payer.name)), segment("N3", text(payer.address, 55)),
             segment("N4", text(payer.city, 30), payer.state, payer.zip),
             segment("PER", "BL", text(payer.contact), "TE", payer.phone)]
    name = text(r.name) or r.provider_id
    if r.umpi:
        body += [segment("N1", "PE", name, "FI", r.tin), segment("REF", "PQ", r.provider_id)]
    else:
        body.append(segment("N1", "PE", name, "XX", r.provider_id))
        if r.tin:
            body.append(segment("REF", "TJ", r.tin))
    if r.detail_segments:
        body.append(segment("LX", "1"))
    tail_body: list[str] = []
    for i in range(0, len(r.adjustments), 6):
        pairs = []
        for reason, ref, amount in r.adjustments[i:i + 6]:
            pairs += [[reason, ref], money(amount)]
        tail_body.append(segment("PLB", r.tin if r.umpi else r.provider_id, f"{date.year}1231", *pairs))
    tail_body.append(segment("SE", str(len(body) + r.detail_segments + len(tail_body) + 1), "0001"))
    head = [segment("ISA", "00", " " * 10, "00", " " * 10, "ZZ", payer.interchange_id.ljust(15)[:15], "ZZ",
                    r.provider_id.ljust(15)[:15], f"{date:%y%m%d}", "0000", REPETITION, "00501", ctl, "0",
                    payer.usage, COMPONENT),
            segment("GS", "HP", payer.interchange_id, r.provider_id, f"{date:%Y%m%d}", "0000", str(int(ctl)), "X",
                    "005010X221A1")]
    tail = [segment("GE", "1", str(int(ctl))), segment("IEA", "1", ctl)]
    return "\n".join(head + body + ([r.detail] if r.detail_segments else []) + tail_body + tail) + "\n"


# ---------------------------------------------------------------------------- from the warehouse

def record_balances(con, period: str) -> int:
    """Write the period's ``provider_balances``: for each billing provider with adjudicated lines, what its
    claims paid (ΣCLP04), the balance it owed from earlier 835s, what this 835 forwards or recovers (PLB
    ``FB``) and the payment (BPR02). Replaces the period's rows (a re-run gives the same rows). Returns
    the number of providers."""
    con.execute("DELETE FROM provider_balances WHERE period = ?", [period])
    rows = con.execute("""
        WITH paid AS (
            SELECT billing_provider_id, CAST(sum(paid_amount) AS DECIMAL(14,2)) AS claims_paid
            FROM claim_outcomes WHERE period = $p AND outcome <> 'rejected' AND billing_provider_id IS NOT NULL
            GROUP BY 1),
        prior AS (
            SELECT billing_provider_id, arg_max(closing_balance, period) AS opening,
                   arg_max(balance_trace, period) AS balance_trace
            FROM provider_balances WHERE period < $p GROUP BY 1),
        who AS (  -- the tin last given (arg_max skips nulls: a snapshot without the column keeps the earlier one)
            SELECT provider_id, arg_max(tin, period) AS tin FROM providers WHERE period <= $p GROUP BY 1)
        SELECT paid.billing_provider_id, coalesce(prior.opening, 0), paid.claims_paid, prior.balance_trace, who.tin
        FROM paid LEFT JOIN prior USING (billing_provider_id)
        LEFT JOIN who ON who.provider_id = paid.billing_provider_id
        ORDER BY 1""", {"p": period}).fetchall()
    out = []
    for pid, opening, net, balance_trace, tin in rows:
        trace = trace_number(period, pid)
        if net < 0:  # nothing is paid; the negative is carried forward
            forwarded, recovered, payment = -net, ZERO, ZERO
            balance_trace = balance_trace if opening > 0 else trace
        else:
            forwarded, recovered = ZERO, min(opening, net)
            payment = net - recovered
        closing = opening + forwarded - recovered
        withheld = None
        if not pid.isdigit() and not tin:
            withheld = "UMPI provider without a tin on providers.csv: the 835 payee cannot be identified"
        out.append((period, pid, opening, net, forwarded, recovered, payment, closing, trace,
                    balance_trace if closing > 0 or recovered > 0 else None,
                    None if withheld else f"x12/{file_name(pid)}", withheld))
    if out:  # one set-based insert (executemany ran one statement per provider: seconds for a state)
        import pyarrow as pa

        money_type, cols = pa.decimal128(14, 2), list(zip(*out))
        table = pa.table([pa.array(c, type=money_type if 2 <= i <= 7 else pa.string()) for i, c in enumerate(cols)],
                         names=[f"c{i}" for i in range(len(cols))])
        con.register("_provider_balances_new", table)
        try:
            con.execute("INSERT INTO provider_balances SELECT * FROM _provider_balances_new")
        finally:
            con.unregister("_provider_balances_new")
    return len(out)


#: The claim loops of the 835 (2100 CLP, NM1; 2110 SVC, DTM*472, CAS, REF*6R, LQ*HE), rendered set-based so a
#: state's month (millions of lines) costs seconds: one query for every provider of the period, one row per claim
#: (its CLP and NM1, k = 0) and per line (its SVC loop, k = 1), in file order: provider, claim (ICN, then the
#: reversal after the claim it reverses), the claim's segments before its lines, lines by line number. ``n`` is the
#: row's segment count, ``clp04`` the claim's paid amount (null on lines). Element rules as in :func:`segment`
#: and :func:`money`: R values without trailing zeros, trailing empty elements dropped.
DETAIL_SQL = r"""
WITH lines AS NOT MATERIALIZED (  -- read twice below: two scans cost less than holding it
    SELECT o.billing_provider_id AS pid, o.outcome IN ('voided', 'replaced') AS reversal,
           CASE WHEN o.outcome IN ('voided', 'replaced') THEN o.reverses_icn ELSE o.icn END AS claim_icn,
           o.outcome, o.recipient_id, o.line_no, o.procedure_code, o.modifiers, o.service_date, o.billed_amount,
           o.paid_amount, o.billed_units, o.paid_units, o.source_file, o.source_row, o.row_type
    FROM claim_outcomes o
    WHERE o.period = $p AND o.outcome <> 'rejected' AND {providers} AND o.billing_provider_id IN (
          SELECT billing_provider_id FROM provider_balances WHERE period = $p AND withheld_reason IS NULL)),
ledger AS (  -- the period's ledger: rows of lines not on an 835 (rejected, withheld) find no line below
    SELECT * FROM denial_ledger WHERE period = $p),
adj AS (  -- each CARC once per group code, its amounts and units summed; a zero sum is not an adjustment
    SELECT source_file, source_row, row_type, group_code, carc, sum(amount) AS amount, sum(units) AS units,
           min(CASE WHEN is_primary THEN 0 ELSE 1 END) AS k
    FROM ledger GROUP BY source_file, source_row, row_type, group_code, carc HAVING sum(amount) <> 0),
triplets AS (  -- up to six (CARC, amount, units) per CAS segment
    SELECT *, (row_number() OVER (PARTITION BY source_file, source_row, row_type, group_code ORDER BY k, carc) - 1) // 6
              AS part
    FROM adj),
cas AS (
    SELECT source_file, source_row, row_type,
           string_agg(seg, chr(10) ORDER BY group_code, part) AS text, count(*) AS n
    FROM (SELECT source_file, source_row, row_type, group_code, part,
                 rtrim('CAS*' || group_code || '*' || string_agg(carc || '*' || x12_money(amount) || '*' ||
                       CASE WHEN units = 0 THEN '' ELSE x12_money(units) END, '*' ORDER BY k, carc), '*') || '~' AS seg
          FROM triplets GROUP BY source_file, source_row, row_type, group_code, part)
    GROUP BY source_file, source_row, row_type),
lq AS (  -- a remark code per RARC of the adjustments that moved money
    SELECT source_file, source_row, row_type, string_agg('LQ*HE*' || rarc || '~', chr(10) ORDER BY rarc) AS text,
           count(*) AS n
    FROM (SELECT DISTINCT source_file, source_row, row_type, rarc FROM ledger WHERE amount <> 0 AND coalesce(rarc, '') <> '')
    GROUP BY source_file, source_row, row_type),
svc AS (
    SELECT l.pid, l.claim_icn, l.reversal, 1 AS k, l.line_no, 3 + coalesce(cas.n, 0) + coalesce(lq.n, 0) AS n,
           CAST(NULL AS DECIMAL(38,2)) AS clp04,
           CASE WHEN l.procedure_code IS NOT NULL AND l.billed_amount IS NOT NULL AND l.paid_amount IS NOT NULL
                     AND l.paid_units IS NOT NULL AND l.service_date IS NOT NULL AND l.line_no IS NOT NULL THEN
           concat('SVC*HC:', l.procedure_code,  -- one concat, not a chain of ||: a third of the cost
               CASE WHEN coalesce(trim(l.modifiers), '') = '' THEN '' ELSE ':' || replace(trim(l.modifiers), ' ', ':') END,
               '*', x12_money(l.billed_amount), '*', x12_money(l.paid_amount), '**', x12_money(l.paid_units),
               CASE WHEN l.billed_units <> l.paid_units THEN '**' || x12_money(l.billed_units) ELSE '' END, '~',
               chr(10), 'DTM*472*', strftime(l.service_date, '%Y%m%d'), '~',
               chr(10) || cas.text,
               chr(10), 'REF*6R*', l.line_no, '~',
               chr(10) || lq.text) END AS text
    FROM lines l LEFT JOIN cas USING (source_file, source_row, row_type) LEFT JOIN lq USING (source_file, source_row, row_type)),
pcn AS (  -- the provider's own claim number, from the claim's lowest line that gives one
    SELECT icn, arg_min(patient_control_number, line_no) AS pcn FROM claims
    WHERE period <= $p AND patient_control_number IS NOT NULL GROUP BY 1),
claim AS (
    SELECT pid, claim_icn, reversal, sum(billed_amount) AS billed, CAST(sum(paid_amount) AS DECIMAL(38,2)) AS clp04,
           CASE WHEN reversal THEN '22' WHEN bool_and(outcome = 'denied') THEN '4' ELSE '1' END AS status,
           arg_min(recipient_id, line_no) AS recipient_id
    FROM lines GROUP BY pid, claim_icn, reversal),
clp AS (  -- the claim number joined to the claims, not to their lines
    SELECT c.pid, c.claim_icn, c.reversal, 0 AS k, CAST(NULL AS INTEGER) AS line_no, 2 AS n, c.clp04,
           'CLP*' || coalesce(pcn.pcn, c.claim_icn) || '*' || c.status || '*' || x12_money(c.billed) || '*' ||
               x12_money(c.clp04) || '**MC*' || c.claim_icn || '~' ||
           chr(10) || 'NM1*QC*1******MI*' || c.recipient_id || '~' AS text
    FROM claim c LEFT JOIN pcn ON pcn.icn = c.claim_icn)
SELECT pid, text, n, clp04 FROM (SELECT * FROM clp UNION ALL SELECT * FROM svc)
ORDER BY pid, claim_icn, reversal, k, line_no
"""
#: X12 R values (``money``) in SQL: whole numbers without decimals, one decimal when the cents are a multiple
#: of ten, else two (the same text as stripping trailing zeros, at a fifth of the cost).
MONEY_MACRO = """CREATE OR REPLACE TEMP MACRO x12_money(x) AS
    CASE WHEN x % 1 = 0 THEN CAST(CAST(x AS DECIMAL(38,0)) AS VARCHAR)
         WHEN x * 10 % 1 = 0 THEN CAST(CAST(x AS DECIMAL(38,1)) AS VARCHAR)
         ELSE CAST(x AS VARCHAR) END"""
DETAIL_SLICE = 1_000_000  # lines sorted per query (a range of providers): a state's month is 3 M
DETAIL_BATCH = 200_000  # rows of the detail stream held at once


def details(con, period: str) -> Iterator[tuple[str, str, int, Decimal]]:
    """(provider, its claim loops as X12 text, their segment count, ΣCLP04) for every provider of the period's
    ``provider_balances`` without a withheld reason, in provider order. Set-based: one query per range of
    providers of about DETAIL_SLICE lines (not per provider), streamed a batch at a time, so memory holds a
    range's sort, a batch and one provider's text, not the month."""
    import polars as pl

    con.execute(MONEY_MACRO)
    pid, texts, n, clp04 = None, [], 0, ZERO
    for providers, bounds in provider_slices(con, period, DETAIL_SLICE, column="o.billing_provider_id"):
        reader = con.sql(DETAIL_SQL.format(providers=providers),
                         params={"p": period, **bounds}).to_arrow_reader(DETAIL_BATCH)
        try:
            for batch in reader:
                groups = pl.from_arrow(batch).group_by("pid", maintain_order=True).agg(  # a group keeps its order
                    pl.col("text").str.join("\n"), pl.col("n").sum(), pl.col("clp04").sum())
                for b_pid, b_text, b_n, b_clp04 in groups.iter_rows():
                    if b_pid != pid:
                        if pid is not None:
                            yield pid, "\n".join(texts), n, clp04
                        pid, texts, n, clp04 = b_pid, [], 0, ZERO
                    texts.append(b_text)
                    n += int(b_n)
                    clp04 += b_clp04 if b_clp04 is not None else ZERO
        finally:  # also when the caller stops early (a balance error): the connection is free again
            reader.close()
    if pid is not None:
        yield pid, "\n".join(texts), n, clp04


def remittances(con, period: str) -> Iterator[Remittance]:
    """Every provider's remittance of the period (``record_balances`` first), from one detail query.
    The claim loops are summed a second way on the way out: ΣCLP04 must equal the provider's ``claims_paid``
    and ``ΣCLP04 − ΣPLB`` its payment, or the run fails loudly (``BalanceError``)."""
    heads = con.execute("""
        SELECT b.billing_provider_id, b.forwarded, b.recovered, b.payment_amount, b.trace_number, b.balance_trace,
               p.name, p.tin, b.claims_paid
        FROM provider_balances b
        LEFT JOIN (SELECT provider_id, arg_max(name, period) AS name, arg_max(tin, period) AS tin FROM providers
                   WHERE period <= $p GROUP BY 1) p ON p.provider_id = b.billing_provider_id
        WHERE b.period = $p AND b.withheld_reason IS NULL ORDER BY 1""", {"p": period}).fetchall()
    stream = details(con, period)
    try:
        pending = next(stream, None)
        for pid, forwarded, recovered, payment, trace, balance_trace, name, tin, claims_paid in heads:
            adjustments = []
            if forwarded:
                adjustments.append(("FB", balance_trace or trace, -forwarded))
            if recovered:
                adjustments.append(("FB", balance_trace or trace, recovered))
            text, n, clp04 = "", 0, ZERO
            if pending is not None and pending[0] == pid:  # both in provider order
                _, text, n, clp04 = pending
                pending = next(stream, None)
            if clp04 != claims_paid or clp04 - sum(a[2] for a in adjustments) != payment or payment < 0:
                raise BalanceError(f"the 835 of {pid} for {period} does not balance: claims {clp04}, "
                                   f"provider_balances {claims_paid}, payment {payment}")
            yield Remittance(period, pid, name or pid, tin, text, n, adjustments, payment, trace)
        if pending is not None:
            raise BalanceError(f"the 835 lines of {pending[0]} for {period} have no provider_balances row")
    finally:
        stream.close()


def write_period(con, period: str, folder: Path) -> list[Path]:
    """Write ``<folder>/<billing_provider_id>.835`` for every provider of the period's ``provider_balances``."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = []
    for r in remittances(con, period):
        path = folder / file_name(r.provider_id)
        path.write_text(render(r), encoding="ascii", newline="")
        paths.append(path)
    return paths


def files(con, period: str) -> dict[str, str | None]:
    """Provider -> its 835 file (relative to the period's reports folder), or why none was written."""
    return dict(con.execute("SELECT billing_provider_id, coalesce(x12_file, 'not written: ' || withheld_reason) "
                            "FROM provider_balances WHERE period = ? ORDER BY 1", [period]).fetchall())


__all__ = ["PAYER", "Payer", "Remittance", "files", "record_balances", "remittances", "render", "segment",
           "write_period"]
