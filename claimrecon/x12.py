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
claim ``CLP03 − ΣCAS = CLP04`` (sums of the lines), transaction ``ΣCLP04 − ΣPLB = BPR02``. The segments
are written by one small serializer (:func:`segment`); pyx12 validates the result in the tests.

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
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ELEMENT, COMPONENT, REPETITION, TERMINATOR = "*", ":", "^", "~"
CHUNK = 200  # providers per query (a state's month has millions of lines)
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
class Line:
    line_no: int
    procedure: str
    modifiers: list[str]
    service_date: dt.date
    charge: Decimal
    paid: Decimal
    billed_units: Decimal
    paid_units: Decimal
    #: (group, CARC, amount, units), amounts never zero, each (group, CARC) once
    adjustments: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)
    rarcs: list[str] = field(default_factory=list)


@dataclass
class Claim:
    pcn: str
    status: str  # 1 paid (in full or in part), 4 denied, 22 reversal
    icn: str
    recipient_id: str
    lines: list[Line] = field(default_factory=list)

    @property
    def charge(self) -> Decimal:
        return sum((ln.charge for ln in self.lines), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((ln.paid for ln in self.lines), ZERO)


@dataclass
class Remittance:
    period: str
    provider_id: str
    name: str
    tin: str | None
    claims: list[Claim]
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


quantity = money  # units are DECIMAL(12,2) as well


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
    if r.claims:
        body.append(segment("LX", "1"))
    for c in r.claims:
        body.append(segment("CLP", text(c.pcn, 38), c.status, money(c.charge), money(c.paid), "", "MC", c.icn))
        body.append(segment("NM1", "QC", "1", "", "", "", "", "", "MI", c.recipient_id))
        for ln in c.lines:
            body.append(segment("SVC", ["HC", ln.procedure, *ln.modifiers], money(ln.charge), money(ln.paid), "",
                                quantity(ln.paid_units), "",
                                quantity(ln.billed_units) if ln.billed_units != ln.paid_units else ""))
            body.append(segment("DTM", "472", f"{ln.service_date:%Y%m%d}"))
            body += cas_segments(ln.adjustments)
            body.append(segment("REF", "6R", str(ln.line_no)))
            body += [segment("LQ", "HE", rarc) for rarc in ln.rarcs]
    for i in range(0, len(r.adjustments), 6):
        pairs = []
        for reason, ref, amount in r.adjustments[i:i + 6]:
            pairs += [[reason, ref], money(amount)]
        body.append(segment("PLB", r.tin if r.umpi else r.provider_id, f"{date.year}1231", *pairs))
    body.append(segment("SE", str(len(body) + 1), "0001"))
    head = [segment("ISA", "00", " " * 10, "00", " " * 10, "ZZ", payer.interchange_id.ljust(15)[:15], "ZZ",
                    r.provider_id.ljust(15)[:15], f"{date:%y%m%d}", "0000", REPETITION, "00501", ctl, "0",
                    payer.usage, COMPONENT),
            segment("GS", "HP", payer.interchange_id, r.provider_id, f"{date:%Y%m%d}", "0000", str(int(ctl)), "X",
                    "005010X221A1")]
    tail = [segment("GE", "1", str(int(ctl))), segment("IEA", "1", ctl)]
    return "\n".join(head + body + tail) + "\n"


def cas_segments(adjustments: list[tuple[str, str, Decimal, Decimal]]) -> list[str]:
    """One CAS per group code with up to six (CARC, amount, units) triplets (a seventh CARC of a group,
    which no rule set here produces, would open a second CAS of the same group)."""
    out: list[str] = []
    groups: dict[str, list[tuple[str, Decimal, Decimal]]] = {}
    for g, carc, amount, units in adjustments:
        groups.setdefault(g, []).append((carc, amount, units))
    for g, items in groups.items():
        for i in range(0, len(items), 6):
            els: list[str] = []
            for carc, amount, units in items[i:i + 6]:
                els += [carc, money(amount), quantity(units) if units else ""]
            out.append(segment("CAS", g, *els))
    return out


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
        who AS (
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
    if out:
        con.executemany("INSERT INTO provider_balances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", out)
    return len(out)


def _claims(con, period: str, providers: list[str]) -> dict[str, list[Claim]]:
    """The adjudicated claims of the given providers, each with its lines and their ledger adjustments."""
    rows = con.execute("""
        WITH lines AS (
            SELECT o.*, CASE WHEN o.outcome IN ('voided', 'replaced') THEN o.reverses_icn ELSE o.icn END AS claim_icn,
                   o.outcome IN ('voided', 'replaced') AS reversal
            FROM claim_outcomes o
            WHERE o.period = $p AND o.outcome <> 'rejected' AND o.billing_provider_id IN (SELECT unnest($ids))),
        adj AS (
            SELECT d.source_file, d.source_row, d.row_type, d.group_code, d.carc,
                   sum(d.amount) AS amount, sum(d.units) AS units, min(CASE WHEN d.is_primary THEN 0 ELSE 1 END) AS k,
                   list(d.rarc) FILTER (WHERE d.amount <> 0 AND coalesce(d.rarc, '') <> '') AS rarcs
            FROM denial_ledger d JOIN lines l USING (source_file, source_row, row_type)
            WHERE d.period = $p GROUP BY ALL),
        cas AS (
            SELECT source_file, source_row, row_type,
                   list((group_code, carc, amount, units) ORDER BY group_code, k, carc) FILTER (WHERE amount <> 0) AS cas,
                   list_sort(list_distinct(flatten(list(coalesce(rarcs, []))))) AS rarcs
            FROM adj GROUP BY ALL),
        pcn AS (
            SELECT icn, min_by(patient_control_number, line_no) AS pcn FROM claims
            WHERE period <= $p AND patient_control_number IS NOT NULL
              AND icn IN (SELECT claim_icn FROM lines) GROUP BY 1)
        SELECT l.billing_provider_id, l.claim_icn, l.reversal, l.outcome, l.recipient_id, l.line_no,
               l.procedure_code, l.modifiers, l.service_date, l.billed_amount, l.paid_amount, l.billed_units,
               l.paid_units, cas.cas, cas.rarcs, pcn.pcn
        FROM lines l LEFT JOIN cas USING (source_file, source_row, row_type) LEFT JOIN pcn ON pcn.icn = l.claim_icn
        ORDER BY l.billing_provider_id, l.claim_icn, l.reversal, l.line_no""",
                       {"p": period, "ids": providers}).fetchall()
    out: dict[str, list[Claim]] = {}
    current: Claim | None = None
    key = None
    for (pid, icn, reversal, outcome, pmi, line_no, proc, mods, day, billed, paid, bu, pu, cas, rarcs,
         pcn) in rows:
        if (pid, icn, reversal) != key:
            key = (pid, icn, reversal)
            current = Claim(pcn or icn, "22" if reversal else "4", icn, pmi)
            out.setdefault(pid, []).append(current)
        if not reversal and outcome != "denied":
            current.status = "1"
        current.lines.append(Line(line_no, proc, (mods or "").split(), day, billed, paid, bu, pu,
                                  [tuple(a.values()) if isinstance(a, dict) else tuple(a) for a in (cas or [])],
                                  list(rarcs or [])))
    return out


def remittances(con, period: str) -> Iterator[Remittance]:
    """Every provider's remittance of the period, a chunk of providers at a time (``record_balances`` first)."""
    heads = con.execute("""
        SELECT b.billing_provider_id, b.forwarded, b.recovered, b.payment_amount, b.trace_number, b.balance_trace,
               p.name, p.tin
        FROM provider_balances b
        LEFT JOIN (SELECT provider_id, arg_max(name, period) AS name, arg_max(tin, period) AS tin FROM providers
                   WHERE period <= $p GROUP BY 1) p ON p.provider_id = b.billing_provider_id
        WHERE b.period = $p AND b.withheld_reason IS NULL ORDER BY 1""", {"p": period}).fetchall()
    for i in range(0, len(heads), CHUNK):
        chunk = heads[i:i + CHUNK]
        claims = _claims(con, period, [h[0] for h in chunk])
        for pid, forwarded, recovered, payment, trace, balance_trace, name, tin in chunk:
            adjustments = []
            if forwarded:
                adjustments.append(("FB", balance_trace or trace, -forwarded))
            if recovered:
                adjustments.append(("FB", balance_trace or trace, recovered))
            yield Remittance(period, pid, name or pid, tin, claims.get(pid, []), adjustments, payment, trace)


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
    """Provider -> its 835 file (relative to the period's reports folder), None when withheld."""
    return dict(con.execute("SELECT billing_provider_id, coalesce(x12_file, 'not written: ' || withheld_reason) "
                            "FROM provider_balances WHERE period = ? ORDER BY 1", [period]).fetchall())


__all__ = ["PAYER", "Payer", "Remittance", "files", "record_balances", "remittances", "render", "segment",
           "write_period"]
