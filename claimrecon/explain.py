"""Why was this claim line (not) paid? ``claimrecon explain`` answers from the published warehouse.

For each line of an ICN in a period: its outcome and money, then every rule that fired in precedence
order (units, dollars, message, citation, the evidence the ledger recorded) and the rows behind them:

* the service contacts that document the line, their minutes, billable minutes and the log contracts
  that removed minutes (``log_billability``);
* the service agreement line: units authorized, used before this line (in order of judgement), this
  line's paid units and what is left;
* the same person's other lines that day (daily caps, overlaps) and their remote IHS units that year;
* the earlier line a duplicate repeats; the original a void or replacement reverses;
* the front-end rejection (``rejected_records``) of a rejected line;
* the provider's 835 remittance file, where one was written.

The warehouse is opened read-only. The ledger's ``evidence`` JSON is read defensively: every key is
optional, unknown keys are shown as they are. Recipient ids are masked unless asked for.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from claimrecon.reports import mask_id
from contracts.rules import RANK, RULES

MAX_ROWS = 50  # evidence rows shown per section (a line has a handful; the cap only guards odd data)


class NotFound(LookupError):
    pass


def _rows(con, sql: str, params: list) -> list[dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _has(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()[0])


def _evidence(text) -> dict:
    """The ledger's evidence JSON as a dict; anything unreadable is kept as text, never an error."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {"text": str(text)}
    return value if isinstance(value, dict) else {"value": value}


def _removed(text) -> dict[str, int]:
    """Minutes removed per log contract (only those that removed any)."""
    data = _evidence(text)
    out = {}
    for k, v in data.items():
        try:
            if int(v) > 0:
                out[k] = int(v)
        except (TypeError, ValueError):
            continue
    return out


def _contacts(con, period: str, line: dict) -> list[dict]:
    """The contacts documenting the line (same person, provider, procedure, modifiers and date), latest
    version known at the period, with their billable minutes after the log contracts of this period."""
    if not line.get("recipient_id") or not _has(con, "contacts"):
        return []
    rows = _rows(con, f"""
        WITH cur AS (
            SELECT * EXCLUDE (rn) FROM (
                SELECT c.*, row_number() OVER (PARTITION BY provider_id, log_id
                                               ORDER BY period DESC, source_file DESC, source_row DESC) AS rn
                FROM contacts c WHERE period <= ? AND recipient_id = ? AND provider_id = ? AND service_date = ?)
            WHERE rn = 1)
        SELECT cur.log_id, cur.staff_id, cur.procedure_code, cur.modifiers, cur.service_key, cur.delivery_mode,
               cur.start_ts, cur.end_ts, cur.duration_minutes, lb.billable_minutes, lb.rule_ids,
               lb.primary_rule_id, lb.removed_minutes_json
        FROM cur LEFT JOIN (SELECT * FROM log_billability WHERE period = ?) lb
             ON lb.provider_id = cur.provider_id AND lb.log_id = cur.log_id
        WHERE cur.procedure_code IS NOT DISTINCT FROM ? AND coalesce(cur.modifiers, '') = coalesce(?, '')
        ORDER BY cur.start_ts, cur.log_id LIMIT {MAX_ROWS}""",
                 [period, line["recipient_id"], line["billing_provider_id"], line["service_date"], period,
                  line["procedure_code"], line["modifiers"]])
    for r in rows:
        r["removed_minutes"] = _removed(r.pop("removed_minutes_json"))
    return rows


def _agreement(con, period: str, line: dict) -> dict | None:
    """The agreement line the claim line was priced on: authorized, used before it, this line, left."""
    if not line.get("sa_number") or not _has(con, "sa_lines"):
        return None
    sa = _rows(con, """SELECT sa_number, line_no, period AS snapshot_period, sa_status, line_status, procedure_code,
                              modifiers, start_date, end_date, authorized_units, unit_rate, waiver_program,
                              remote_exception_units
                       FROM sa_lines WHERE sa_number = ? AND line_no = ? AND period <= ?
                       ORDER BY period DESC LIMIT 1""", [line["sa_number"], line["sa_line_no"], period])
    if not sa:
        return {"sa_number": line["sa_number"], "line_no": line["sa_line_no"], "missing": True}
    a = sa[0]
    # used before: every earlier period (reversals net out); this period's voids and reversals (an original
    # voided or replaced frees its units before the period is judged); this period's lines judged earlier
    used_before = con.execute("""
        SELECT coalesce(sum(paid_units), 0) FROM claim_outcomes
        WHERE sa_number = ? AND sa_line_no = ? AND (period < ? OR (period = ? AND (row_type <> 'line'
              OR outcome = 'voided' OR (received_date, icn, line_no) < (?, ?, ?))))""",
                              [a["sa_number"], a["line_no"], period, period, line["received_date"], line["icn"],
                               line["line_no"]]).fetchone()[0]
    this = line["paid_units"] or Decimal(0)
    a["used_before_units"] = used_before
    a["this_line_units"] = this
    a["left_units"] = (a["authorized_units"] or Decimal(0)) - used_before - this
    return a


def _same_day(con, period: str, line: dict) -> list[dict]:
    """The same person's other lines that day, paid so far (daily caps, overlaps, day rules)."""
    if not line.get("recipient_id") or not line.get("service_date"):
        return []
    return _rows(con, f"""
        SELECT period, icn, line_no, row_type, outcome, billing_provider_id, procedure_code, modifiers, service_key,
               billed_units, paid_units, paid_amount
        FROM claim_outcomes
        WHERE recipient_id = ? AND service_date = ? AND period <= ? AND NOT (period = ? AND icn = ? AND line_no = ?)
        ORDER BY period, received_date, icn, line_no, row_type LIMIT {MAX_ROWS}""",
                 [line["recipient_id"], line["service_date"], period, period, line["icn"], line["line_no"]])


def _parameters(con, period: str) -> dict:
    """The rule parameters the period's published run used (runs.parameters), else the defaults."""
    import dataclasses

    from contracts.rules import Parameters

    params = dataclasses.asdict(Parameters())
    if _has(con, "runs"):
        row = con.execute("SELECT parameters FROM runs WHERE period = ? ORDER BY finished_at DESC LIMIT 1",
                          [period]).fetchone()
        params.update(_evidence(row[0]) if row else {})
    return params


def _groups(con, service_key: str | None) -> set[str]:
    if not service_key or not _has(con, "procedure_codes"):
        return set()
    rows = con.execute("SELECT DISTINCT groups FROM procedure_codes WHERE service_key = ?", [service_key]).fetchall()
    return {g for (text,) in rows for g in (text or "").split()}


def _caps(con, period: str, line: dict, agreement: dict | None, fired: set[str], evidence: dict) -> dict:
    """Cap usage behind IHS-DAILY-CAP (in-person IHS units of the person that day, all providers, a daily
    line counting as the daily equivalent) and IHS-REMOTE-CAP (remote units paid to the person, every
    provider, in their remote-support year)."""
    groups = _groups(con, line.get("service_key"))
    p = _parameters(con, period)
    out: dict = {}
    if "ihs_in_person" in groups or "IHS-DAILY-CAP" in fired:
        inperson = "SELECT service_key FROM procedure_codes WHERE groups LIKE '%ihs_in_person%'"
        daily = "SELECT service_key FROM procedure_codes WHERE groups LIKE '%ihs_daily%'"
        used = con.execute(f"""
            SELECT coalesce(sum(paid_units * CASE WHEN service_key IN ({daily}) THEN ? ELSE 1 END), 0)
            FROM claim_outcomes WHERE recipient_id = ? AND service_date = ? AND period <= ?
              AND service_key IN ({inperson})""",
                           [p["daily_unit_equivalent"], line["recipient_id"], line["service_date"], period]).fetchone()[0]
        out["day"] = {"date": line["service_date"], "in_person_ihs_units_paid": used, "cap": p["daily_cap_units"]}
    if "ihs_remote" in groups or "IHS-REMOTE-CAP" in fired:
        # revision 2 (Clar. 18): the PERSON's remote-support years, consecutive 365-day years from the earliest
        # start of their approved remote IHS agreement lines in the snapshot in force; every provider counts
        remote = "SELECT service_key FROM procedure_codes WHERE groups LIKE '%ihs_remote%'"
        lines_sql = f"""SELECT * FROM sa_lines WHERE recipient_id = ? AND service_key IN ({remote})
                        AND sa_status IN ('A', 'T') AND line_status = 'A'
                        AND period = (SELECT max(period) FROM sa_lines WHERE period <= ?)"""
        first = con.execute(f"SELECT min(start_date) FROM ({lines_sql})", [line["recipient_id"], period]).fetchone()[0]
        if first is not None and line.get("service_date"):
            k = (line["service_date"] - first).days // 365
            ys = first + dt.timedelta(days=365 * k)
            ye = ys + dt.timedelta(days=364)
            used = con.execute(f"""SELECT coalesce(sum(paid_units), 0) FROM claim_outcomes WHERE recipient_id = ?
                                   AND service_date BETWEEN ? AND ? AND period <= ? AND service_key IN ({remote})""",
                               [line["recipient_id"], ys, ye, period]).fetchone()[0]
            cap = evidence.get("remote_cap")
            if cap is None:  # 2,920 + the largest exception of the person's remote lines overlapping the year
                extra = con.execute(f"""SELECT coalesce(max(remote_exception_units), 0) FROM ({lines_sql})
                                        WHERE start_date <= ? AND end_date >= ?""",
                                    [line["recipient_id"], period, ye, ys]).fetchone()[0]
                cap = p["remote_cap_units"] + int(extra)
            out["remote_year"] = {"from": ys, "to": ye, "remote_units_paid": used, "cap": cap}
    return out


def _duplicate_of(con, period: str, line: dict, evidence: dict) -> dict | None:
    """The earlier line a duplicate repeats: the ICN the engine recorded, else the same service found."""
    icn = evidence.get("duplicate_of")
    params = [line["recipient_id"], line["billing_provider_id"], line["procedure_code"], line["modifiers"],
              line["service_date"], period]
    extra = "AND icn = ?" if icn else "AND billed_units = ? AND NOT (period = ? AND icn = ?)"
    params += [icn] if icn else [line["billed_units"], period, line["icn"]]
    rows = _rows(con, f"""
        SELECT period, icn, line_no, outcome, billed_units, paid_units, paid_amount, received_date
        FROM claim_outcomes WHERE row_type = 'line' AND recipient_id IS NOT DISTINCT FROM ?
          AND billing_provider_id IS NOT DISTINCT FROM ? AND procedure_code IS NOT DISTINCT FROM ?
          AND coalesce(modifiers, '') = coalesce(?, '') AND service_date IS NOT DISTINCT FROM ? AND period <= ? {extra}
        ORDER BY period, received_date, icn, line_no LIMIT 1""", params)
    return rows[0] if rows else ({"icn": icn} if icn else None)


def _remittance_835(con, reports_dir: Path | None, period: str, provider: str | None) -> str | None:
    """The provider's 835 of the period where it was written, else why not (provider_balances), else None."""
    from claimrecon import x12

    if not provider:
        return None
    if reports_dir is not None:
        path = reports_dir / period / "x12" / x12.file_name(provider)
        if path.is_file():
            return str(path)
    if _has(con, "provider_balances"):
        row = con.execute("SELECT withheld_reason FROM provider_balances WHERE period = ? AND billing_provider_id = ? "
                          "AND withheld_reason IS NOT NULL", [period, provider]).fetchone()
        if row:
            return f"not written: {row[0]}"
    return None


def explain(con, period: str, icn: str, line_no: int | None = None, show_ids: bool = False,
            reports_dir: Path | None = None) -> dict:
    """Everything behind one ICN's lines in a period, as plain data (see module docstring)."""
    where = "period = ? AND icn = ?" + (" AND line_no = ?" if line_no is not None else "")
    params = [period, icn] + ([line_no] if line_no is not None else [])
    lines = _rows(con, f"SELECT * FROM claim_outcomes WHERE {where} ORDER BY line_no, row_type", params)
    if not lines:
        elsewhere = [r[0] for r in con.execute("SELECT DISTINCT period FROM claim_outcomes WHERE icn = ? ORDER BY 1",
                                                [icn]).fetchall()]
        hint = f" (it is in {', '.join(elsewhere)})" if elsewhere else ""
        what = f"line {line_no} of ICN {icn}" if line_no is not None else f"ICN {icn}"
        raise NotFound(f"{what} is not in the claims received {period}{hint}")
    out = {"period": period, "icn": icn, "recipient_ids": "shown" if show_ids else "masked", "lines": []}
    for line in lines:
        ledger = _rows(con, """SELECT rule_id, is_primary, group_code, carc, rarc, units, amount, message, citation,
                                      evidence FROM denial_ledger
                               WHERE period = ? AND source_file = ? AND source_row = ? AND row_type = ?""",
                       [period, line["source_file"], line["source_row"], line["row_type"]])
        ledger.sort(key=lambda r: (RANK.get(r["rule_id"], len(RANK)), not r["is_primary"], r["rule_id"]))
        fired = []
        for r in ledger:
            ev = _evidence(r.pop("evidence"))
            rule = RULES.get(r["rule_id"])
            fired.append({**r, "precedence": RANK.get(r["rule_id"]), "kind": rule.kind if rule else None,
                          "evidence": ev})
        item = {k: line[k] for k in ("line_no", "row_type", "outcome", "adjustment_ind", "billing_provider_id",
                                     "recipient_id", "procedure_code", "modifiers", "service_key", "service_date",
                                     "received_date", "waiver_program", "billed_units", "billed_amount", "paid_units",
                                     "paid_amount", "adjusted_amount", "primary_rule_id", "sa_number", "sa_line_no",
                                     "source_file", "source_row") if k in line}
        item["rules"] = fired
        if line["row_type"] == "line" and line["outcome"] not in ("rejected", "voided"):
            ev = next((f["evidence"] for f in fired if f["evidence"]), {})
            item["contacts"] = _contacts(con, period, line)
            item["agreement"] = _agreement(con, period, line)
            item["same_day"] = _same_day(con, period, line)
            item["caps"] = _caps(con, period, line, item["agreement"], {f["rule_id"] for f in fired}, ev)
            if any(f["rule_id"] == "GEN-DUPLICATE" for f in fired):
                item["duplicate_of"] = _duplicate_of(con, period, line, ev)
        if line.get("reverses_icn"):
            orig = _rows(con, """SELECT period, icn, line_no, outcome, paid_units, paid_amount FROM claim_outcomes
                                 WHERE icn = ? AND period = ? AND row_type = 'line' AND line_no = ?""",
                         [line["reverses_icn"], line.get("reverses_period"), line["line_no"]])
            item["reverses"] = orig[0] if orig else {"icn": line["reverses_icn"], "period": line.get("reverses_period")}
        if line["row_type"] != "line":  # the claim that voided or replaced this original
            item["replaced_by"] = _rows(con, """SELECT o.icn, o.line_no, o.outcome, o.adjustment_ind
                FROM claims k JOIN claim_outcomes o ON o.period = k.period AND o.source_file = k.source_file
                     AND o.source_row = k.source_row AND o.row_type = 'line'
                WHERE k.period = ? AND k.original_icn = ? ORDER BY o.icn, o.line_no""", [period, icn])
        if line["outcome"] == "rejected" and _has(con, "rejected_records"):
            rej = _rows(con, """SELECT rule_id, record_kind, message, raw_record FROM rejected_records
                                WHERE period = ? AND source_file = ? AND row_number = ?""",
                        [period, line["source_file"], line["source_row"]])
            if not show_ids:
                for r in rej:  # the raw text carries the recipient id
                    r["raw_record"] = None
            item["rejected"] = rej
        out["lines"].append(item)
    out["remittance_835"] = _remittance_835(con, reports_dir, period, lines[0].get("billing_provider_id"))
    if not show_ids:
        _mask(out)
    return out


def _mask(value) -> None:
    """Mask every recipient id in the result, wherever it sits (lines, same-day lines, evidence)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k.endswith("recipient_id") and isinstance(v, str):  # also ids a newer evidence JSON may carry
                value[k] = mask_id(v)
            else:
                _mask(v)
    elif isinstance(value, list):
        for v in value:
            _mask(v)


def to_json(result: dict) -> str:
    def default(v):
        if isinstance(v, Decimal):
            return str(v)
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        return str(v)
    return json.dumps(result, default=default, indent=2, ensure_ascii=False)


# ---------------------------------------------------------------------------- text

def _money(v) -> str:
    if v is None:
        return "—"
    d = Decimal(v)
    return f"-${-d:,.2f}" if d < 0 else f"${d:,.2f}"


def _units(v) -> str:
    if v is None:
        return "—"
    d = Decimal(v)
    return f"{d:,.0f}" if d == d.to_integral_value() else f"{d:,.2f}"


def _time(v) -> str:
    return v.strftime("%H:%M") if isinstance(v, dt.datetime) else "—"


def render_text(r: dict) -> str:
    out = [f"ICN {r['icn']} — claims received {r['period']} (recipient ids {r['recipient_ids']})"]
    for ln in r["lines"]:
        kind = "" if ln["row_type"] == "line" else f" ({ln['row_type']} row)"
        out += ["", f"Line {ln['line_no']}{kind}: {str(ln['outcome']).upper()}",
                f"  billed {_units(ln.get('billed_units'))} units {_money(ln.get('billed_amount'))}; "
                f"paid {_units(ln.get('paid_units'))} units {_money(ln.get('paid_amount'))}; "
                f"adjusted {_money(ln.get('adjusted_amount'))}",
                f"  provider {ln.get('billing_provider_id') or '—'} · recipient {ln.get('recipient_id') or '—'} · "
                f"{ln.get('procedure_code') or '—'} {ln.get('modifiers') or ''} ({ln.get('service_key') or '—'}) on "
                f"{ln.get('service_date') or '—'} · received {ln.get('received_date') or '—'} · program "
                f"{ln.get('waiver_program') or '—'}"]
        if ln.get("reverses"):
            o = ln["reverses"]
            out.append(f"  reverses ICN {o.get('icn')} line {o.get('line_no', ln['line_no'])} of {o.get('period')} "
                       f"(was {o.get('outcome', '—')}, paid {_units(o.get('paid_units'))} units {_money(o.get('paid_amount'))})")
        if ln["rules"]:
            out.append("  Rules that fired, in precedence order:")
            for i, f in enumerate(ln["rules"], 1):
                codes = f"{f.get('group_code') or ''}-{f.get('carc') or ''}{(' ' + f['rarc']) if f.get('rarc') else ''}"
                out.append(f"  {i}. {f['rule_id']}{' (primary)' if f.get('is_primary') else ''}  {codes}  "
                           f"{_units(f.get('units'))} units  {_money(f.get('amount'))}")
                out.append(f"     {f.get('message') or ''}")
                out.append(f"     Policy: {f.get('citation') or '—'}")
                shown = {k: v for k, v in (f.get("evidence") or {}).items() if v not in (None, "", [], {})}
                if shown:
                    out.append("     Recorded evidence: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        elif ln["outcome"] == "voided":
            out.append("  A void: it takes back what the original line was paid.")
        elif ln["outcome"] == "paid":
            out.append("  No rule fired: paid as billed.")
        if ln.get("replaced_by"):
            out.append("  Replaced by " + ", ".join(f"ICN {x['icn']} line {x['line_no']} ({x['outcome']})"
                                                    for x in ln["replaced_by"]))
        for rej in ln.get("rejected") or []:
            out.append(f"  Rejected at the front end: {rej['rule_id']} ({rej['record_kind']}) — {rej['message']}")
            if rej.get("raw_record"):
                out.append(f"     record: {rej['raw_record']}")
        if "contacts" in ln:
            out.append("  Documentation (service contacts for this person, provider, code and date):")
            if not ln["contacts"]:
                out.append("     none found")
            for c in ln["contacts"]:
                removed = ", ".join(f"{k} {v} min" for k, v in c["removed_minutes"].items())
                out.append(f"     log {c['log_id']} staff {c.get('staff_id') or '—'} {_time(c.get('start_ts'))}–"
                           f"{_time(c.get('end_ts'))} {c.get('duration_minutes')} min, "
                           f"{c.get('billable_minutes') if c.get('billable_minutes') is not None else '—'} billable"
                           + (f"; removed: {removed}" if removed else ""))
        a = ln.get("agreement")
        if a:
            if a.get("missing"):
                out.append(f"  Agreement line {a['sa_number']}-{a['line_no']}: not in the agreement snapshots")
            else:
                out.append(f"  Agreement line {a['sa_number']}-{a['line_no']} ({a.get('procedure_code')} "
                           f"{a.get('modifiers') or ''}, {a.get('start_date')} – {a.get('end_date')}, "
                           f"{_money(a.get('unit_rate'))}/unit, status {a.get('line_status') or a.get('sa_status') or '—'}): "
                           f"authorized {_units(a['authorized_units'])}, used before {_units(a['used_before_units'])}, "
                           f"this line {_units(a['this_line_units'])}, left {_units(a['left_units'])}")
        if ln.get("same_day"):
            out.append("  The same person's other lines that day:")
            for s in ln["same_day"]:
                out.append(f"     {s['period']} ICN {s['icn']} line {s['line_no']} {s['row_type']} {s['outcome']}: "
                           f"{s.get('service_key') or s.get('procedure_code')} {s.get('billing_provider_id')} "
                           f"billed {_units(s['billed_units'])}, paid {_units(s['paid_units'])} units")
        caps = ln.get("caps") or {}
        if caps.get("day"):
            d = caps["day"]
            out.append(f"  Daily cap: in-person IHS units paid to the person on {d['date']}, all providers: "
                       f"{_units(d['in_person_ihs_units_paid'])} of {_units(d['cap'])}")
        if caps.get("remote_year"):
            y = caps["remote_year"]
            out.append(f"  Remote cap: remote IHS units paid to the person, all providers, in the remote-support year "
                       f"{y['from']} – {y['to']}: {_units(y['remote_units_paid'])} of {_units(y['cap'])}")
        if ln.get("duplicate_of"):
            d = ln["duplicate_of"]
            out.append(f"  Repeats ICN {d.get('icn')} line {d.get('line_no', '—')} of {d.get('period', '—')} "
                       f"({d.get('outcome', '—')}, paid {_units(d.get('paid_units'))} units {_money(d.get('paid_amount'))})")
    out += ["", f"835 remittance: {r['remittance_835']}" if r.get("remittance_835") else
            "835 remittance: none for this provider and period"]
    return "\n".join(out)
