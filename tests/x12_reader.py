"""How the tests read an X12 835: with two libraries nobody here wrote.

* ``pyx12_errors`` runs pyx12 4.0's validator (``x12n_document``, against its 005010X221A1 map: segments,
  loops, usage, element types, lengths, code values, SE/GE/IEA counts) and returns every error it reports.
  (Its ``x12valid`` command crashes on 835s; the function does not.)
* ``read_835`` parses the file into x12sdk 2.2's typed 005010X221A1 models (whose own validator also
  re-checks ``CLP03 − ΣCAS = CLP04`` per claim) and returns the money and codes as plain values.

x12sdk insists on a patient last name (NM103 of ``NM1*QC``), which the 005010X221A1 guide and pyx12's map
make situational; recipients.csv carries no names, so our 835s leave it empty, and the reader hands x12sdk
a copy with a stand-in name there. Nothing else is changed, and nothing it reads comes from that element.
"""

from __future__ import annotations

import io
import logging
import re
from decimal import Decimal
from pathlib import Path

NO_NAME = re.compile(r"^NM1\*QC\*1\*\*", re.M)


def pyx12_errors(path: Path) -> list[str]:
    """Every error pyx12 reports for the file (interchange, group, transaction, segment, element); [] = valid."""
    import pyx12.params
    import pyx12.x12n_document

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    out = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), str(path), None, None, fd_json=out)
    import json

    errors: list[str] = []

    def walk(node, where=""):
        if isinstance(node, dict):
            here = where + (f"/{node['seg_id']}@{node.get('cur_line')}" if "seg_id" in node else "")
            for e in node.get("errors") or []:
                errors.append(f"{here or '/'}: {e.get('err_cde')} {e.get('err_str')}")
            for k, v in node.items():
                if k != "errors":
                    walk(v, here)
        elif isinstance(node, list):
            for v in node:
                walk(v, where)

    walk(json.loads(out.getvalue() or "{}"))
    if not ok and not errors:
        errors.append("pyx12 rejected the file without a detailed error")
    return errors


def _dec(v) -> Decimal:
    return Decimal(str(v)) if v is not None else Decimal("0")


def _triplets(segments) -> list[tuple[str, str, Decimal, Decimal]]:
    """(group, CARC, amount, units) of every adjustment in a list of CAS segments."""
    out = []
    for seg in segments or []:
        for i in range(1, 7):
            carc = getattr(seg, f"adjustment_reason_code_{i}")
            if carc:
                out.append((seg.adjustment_group_code, carc, _dec(getattr(seg, f"monetary_amount_{i}")),
                            _dec(getattr(seg, f"quantity_{i}"))))
    return out


def read_835(path: Path) -> list[dict]:
    """The file's transactions as plain values, read by x12sdk."""
    from x12sdk.io import X12ModelReader

    text = NO_NAME.sub("NM1*QC*1*UNNAMED*", Path(path).read_text())
    out = []
    with X12ModelReader(text) as reader:
        for m in reader.models():
            bpr = m.header.bpr_segment
            payee = m.loop_1000b.n1_segment
            plb = m.footer.plb_segment
            adjustments = []
            if plb is not None:
                for i in range(1, 7):
                    code = getattr(plb, f"adjustment_reason_code_{i}")
                    if code:
                        reason, _, ref = code.partition(":")
                        adjustments.append((reason, ref, _dec(getattr(plb, f"provider_adjustment_amount_{i}"))))
            claims = []
            for c in m.claims():
                lines = []
                for loop in c.service_lines:
                    svc = loop.svc_segment
                    cas = _triplets(loop.cas_segment)
                    refs = {r.reference_identification_qualifier: r.reference_identification for r in loop.ref_segment or []}
                    dates = {d.date_time_qualifier: str(d.production_date) for d in loop.dtm_segment or []}
                    lines.append({"procedure": svc.composite_medical_procedure_identifier_1,
                                  "charge": _dec(svc.line_item_charge_amount),
                                  "paid": _dec(svc.line_item_provider_payment_amount),
                                  "paid_units": _dec(svc.units_of_service_paid_count),
                                  "billed_units": _dec(svc.original_units_of_service_count
                                                       if svc.original_units_of_service_count is not None
                                                       else svc.units_of_service_paid_count),
                                  "cas": cas, "cas_segments": [g.adjustment_group_code for g in loop.cas_segment or []],
                                  "rarcs": [q.form_identifier for q in loop.lq_segment or []],
                                  "line_no": refs.get("6R"), "service_date": dates.get("472")})
                claims.append({"pcn": c.patient_control_number, "status": c.status, "charge": _dec(c.charge),
                               "paid": _dec(c.paid), "icn": c.payer_claim_control_number,
                               "claim_cas": _triplets(c.adjustments), "lines": lines,
                               "patient_id": c.patient.identification_code if c.patient is not None else None})
            out.append({"handling": bpr.transaction_handling_code, "payment": _dec(bpr.total_actual_provider_payment_amount),
                        "method": bpr.payment_method_code, "bpr16": bpr.eft_effective_date,
                        "trace": m.header.trn_segment.reference_identification_1,
                        "payer": m.loop_1000a.n1_segment.name,
                        "per_bl": [p.contact_function_code for p in m.loop_1000a.per_segment or []],
                        "payee_name": payee.name, "payee_qualifier": payee.identification_code_qualifier,
                        "payee_id": payee.identification_code,
                        "payee_refs": {r.reference_identification_qualifier: r.reference_identification
                                       for r in m.loop_1000b.ref_segment or []},
                        "claims": claims, "plb": adjustments})
    return out


def balance_problems(t: dict) -> list[str]:
    """The 835 balancing rules on one transaction read back (empty when it balances to the cent)."""
    out = []
    for c in t["claims"]:
        for ln in c["lines"]:
            if ln["charge"] - sum(a[2] for a in ln["cas"]) != ln["paid"]:
                out.append(f"line {c['icn']}/{ln['line_no']}: SVC02 - CAS != SVC03")
            if len({(a[0], a[1]) for a in ln["cas"]}) != len(ln["cas"]) or any(a[2] == 0 for a in ln["cas"]):
                out.append(f"line {c['icn']}/{ln['line_no']}: a CARC repeated or zero")
            if len(set(ln["cas_segments"])) != len(ln["cas_segments"]):
                out.append(f"line {c['icn']}/{ln['line_no']}: two CAS of one group")
        cas = sum(a[2] for a in c["claim_cas"]) + sum(a[2] for ln in c["lines"] for a in ln["cas"])
        if c["charge"] - cas != c["paid"]:
            out.append(f"claim {c['icn']}: CLP03 - CAS != CLP04")
        if c["charge"] != sum(ln["charge"] for ln in c["lines"]):
            out.append(f"claim {c['icn']}: CLP03 != sum of SVC02")
    if sum(c["paid"] for c in t["claims"]) - sum(a[2] for a in t["plb"]) != t["payment"]:
        out.append("transaction: sum(CLP04) - PLB != BPR02")
    if t["payment"] < 0:
        out.append("BPR02 is negative")
    if (t["handling"] == "H") != (t["payment"] == 0):
        out.append("BPR01 is H exactly when nothing is paid")
    return out
