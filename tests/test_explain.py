"""`claimrecon explain`: a finance reviewer's "why was this line not paid?" without SQL, checked on a line
of every outcome kind, as text and as JSON, against the warehouse's own figures."""

import json
from decimal import Decimal

import duckdb
import pytest
from typer.testing import CliRunner

from claimrecon.cli import app
from contracts.rules import RANK, RULES
from tests.conftest import ro

runner = CliRunner()


def _explain(wh, period, icn, line=None, *extra):
    args = ["explain", "--warehouse", str(wh), "--period", period, "--icn", icn, *extra]
    if line is not None:
        args += ["--line", str(line)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


def _line(con, period, where, params=()):
    row = con.execute(f"""SELECT icn, line_no, row_type FROM claim_outcomes WHERE period = ? AND {where}
                          ORDER BY icn, line_no LIMIT 1""", [period, *params]).fetchone()
    assert row, f"the demo month has no line where {where}"
    return row


KINDS = {"paid": "outcome = 'paid' AND row_type = 'line' AND sa_number IS NOT NULL",
         "partial": "outcome = 'partial'", "denied": "outcome = 'denied'", "rejected": "outcome = 'rejected'",
         "voided": "outcome = 'voided'", "replaced": "outcome = 'replaced' AND row_type = 'reversal'"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_explain_every_outcome_kind_text_and_json(demo, kind):
    period = demo["periods"][-1]
    wh = demo["warehouse"]
    with ro(wh) as con:
        icn, line_no, row_type = _line(con, period, KINDS[kind])
        o = con.execute("""SELECT billed_amount, paid_amount, adjusted_amount, primary_rule_id, recipient_id,
                                  reverses_icn FROM claim_outcomes WHERE period = ? AND icn = ? AND line_no = ?
                           AND row_type = ?""", [period, icn, line_no, row_type]).fetchone()
        ledger = con.execute("""SELECT d.rule_id, d.amount FROM denial_ledger d JOIN claim_outcomes c USING
                                (period, source_file, source_row, row_type) WHERE c.period = ? AND c.icn = ?
                                AND c.line_no = ? AND c.row_type = ?""", [period, icn, line_no, row_type]).fetchall()
    text = _explain(wh, period, icn, line_no)
    data = json.loads(_explain(wh, period, icn, line_no, "--json"))
    assert f"ICN {icn}" in text and kind.upper() in text
    [item] = [x for x in data["lines"] if x["row_type"] == row_type]
    assert item["outcome"] == kind
    assert Decimal(item["billed_amount"]) == o[0] and Decimal(item["paid_amount"]) == o[1]
    # every rule that fired, in precedence order, with the ledger's money and the catalog's words
    rules = item["rules"]
    assert sorted((r["rule_id"], Decimal(r["amount"])) for r in rules) == sorted(ledger)
    assert [r["precedence"] for r in rules] == sorted(r["precedence"] for r in rules) or kind == "rejected"
    assert sum(Decimal(r["amount"]) for r in rules) == o[2]
    for r in rules:
        assert r["message"] == RULES[r["rule_id"]].message and r["citation"] == RULES[r["rule_id"]].citation
        assert r["rule_id"] in text and r["citation"] in text
    if o[3]:
        assert next(r for r in rules if r["is_primary"])["rule_id"] == o[3]
    # recipient ids masked unless asked for
    if o[4]:
        assert o[4] not in text and o[4] not in json.dumps(data)
        assert o[4] in _explain(wh, period, icn, line_no, "--show-recipient-ids")
    if kind == "paid":
        assert rules == [] and "No rule fired" in text
        with ro(wh) as con:
            x12_file = con.execute("SELECT x12_file FROM provider_balances WHERE period = ? AND billing_provider_id = ?",
                                   [period, item["billing_provider_id"]]).fetchone()[0]
        assert data["remittance_835"] == str(wh.parent / "reports" / period / x12_file)  # the 835 the run wrote
        assert f"835 remittance: {data['remittance_835']}" in text
        assert item["contacts"] and all(c["billable_minutes"] is not None for c in item["contacts"])
        a = item["agreement"]
        assert Decimal(a["left_units"]) == Decimal(a["authorized_units"]) - Decimal(a["used_before_units"]) \
            - Decimal(a["this_line_units"])
    if kind == "rejected":
        assert item["rejected"][0]["rule_id"].startswith("FE-") and item["rejected"][0]["raw_record"] is None
    if kind == "voided":
        assert item["reverses"]["icn"] == o[5] and "A void" in text
    if kind == "replaced":
        assert item["replaced_by"] and "Replaced by ICN" in text


def test_explain_shows_the_contracts_that_removed_minutes_and_the_earlier_duplicate(demo):
    period = demo["periods"][-1]
    wh = demo["warehouse"]
    logs = tuple(r for r, rule in RULES.items() if rule.kind == "log")
    with ro(wh) as con:
        icn, line_no, rule_id = con.execute(f"""SELECT icn, line_no, rule_id FROM denial_ledger WHERE period = ?
            AND row_type = 'line' AND rule_id IN {logs} ORDER BY icn LIMIT 1""", [period]).fetchone()
        dup_icn, dup_line, first = con.execute("""SELECT icn, line_no, json_extract_string(evidence, '$.duplicate_of')
            FROM denial_ledger WHERE period = ? AND rule_id = 'GEN-DUPLICATE' ORDER BY icn LIMIT 1""", [period]).fetchone()
    item = json.loads(_explain(wh, period, icn, line_no, "--json"))["lines"][0]
    removed = {k: v for c in item["contacts"] for k, v in c["removed_minutes"].items()}
    assert removed.get(rule_id, 0) > 0  # the log contract that fired removed minutes of a contact behind the line
    assert sum(c["billable_minutes"] for c in item["contacts"]) < sum(c["duration_minutes"] for c in item["contacts"])
    text = _explain(wh, period, icn, line_no)
    assert f"{rule_id} {removed[rule_id]} min" in text
    dup = json.loads(_explain(wh, period, dup_icn, dup_line, "--json"))["lines"][0]
    assert dup["duplicate_of"]["icn"] == first and dup["duplicate_of"]["paid_units"] is not None
    assert f"Repeats ICN {first}" in _explain(wh, period, dup_icn, dup_line)


def test_explain_agreement_left_equals_the_utilization_view(demo):
    """The last line judged on an agreement line leaves exactly what authorization_utilization reports."""
    period = demo["periods"][-1]
    wh = demo["warehouse"]
    with ro(wh) as con:
        icn, line_no, sa, sa_line = con.execute("""
            SELECT icn, line_no, sa_number, sa_line_no FROM claim_outcomes WHERE period = ? AND row_type = 'line'
              AND paid_units > 0 AND sa_number IN (SELECT sa_number FROM claim_outcomes WHERE period < ? AND paid_units > 0)
            QUALIFY row_number() OVER (PARTITION BY sa_number, sa_line_no ORDER BY received_date DESC, icn DESC,
                                       line_no DESC) = 1
            ORDER BY sa_number LIMIT 1""", [period, period]).fetchone()
        remaining = con.execute("SELECT remaining_units FROM authorization_utilization WHERE sa_number = ? AND "
                                "sa_line_no = ?", [sa, sa_line]).fetchone()[0]
    a = json.loads(_explain(wh, period, icn, line_no, "--json"))["lines"][0]["agreement"]
    assert Decimal(a["left_units"]) == remaining
    assert Decimal(a["used_before_units"]) >= 0  # the demo line chosen need not have earlier months on it


def test_explain_reads_evidence_defensively_and_names_the_835(demo_copy):
    period = demo_copy["periods"][-1]
    wh = demo_copy["warehouse"]
    con = duckdb.connect(str(wh))
    icn, line_no, provider = con.execute("""SELECT d.icn, d.line_no, o.billing_provider_id FROM denial_ledger d
        JOIN claim_outcomes o USING (period, source_file, source_row, row_type) WHERE d.period = ? AND o.outcome = 'denied'
          AND o.billing_provider_id IN (SELECT billing_provider_id FROM provider_balances WHERE period = d.period
                                        AND x12_file IS NOT NULL)
        ORDER BY d.icn LIMIT 1""", [period]).fetchone()
    con.execute("UPDATE denial_ledger SET evidence = 'not json' WHERE period = ? AND icn = ?", [period, icn])
    con.close()
    text = _explain(wh, period, icn, line_no)
    assert "not json" in text  # kept as text, not an error
    con = duckdb.connect(str(wh))
    con.execute("""UPDATE denial_ledger SET evidence = '{"a_key_from_a_newer_engine": [1, 2]}'
                   WHERE period = ? AND icn = ?""", [period, icn])
    con.close()
    data = json.loads(_explain(wh, period, icn, line_no, "--json"))
    assert data["lines"][0]["rules"][0]["evidence"] == {"a_key_from_a_newer_engine": [1, 2]}
    con = duckdb.connect(str(wh))
    con.execute("""UPDATE denial_ledger SET evidence = '{"first_recipient_id": "87654321"}'
                   WHERE period = ? AND icn = ?""", [period, icn])
    con.close()
    assert "87654321" not in _explain(wh, period, icn, line_no, "--json")  # an id inside evidence is masked too
    assert "87654321" in _explain(wh, period, icn, line_no, "--json", "--show-recipient-ids")
    assert data["remittance_835"] is None
    x12 = wh.parent / "reports" / period / "x12"
    x12.mkdir(parents=True)
    (x12 / f"{provider}.835").write_text("ISA*00*~")
    assert f"x12/{provider}.835" in _explain(wh, period, icn, line_no)


def test_explain_refuses_an_unknown_line_and_points_to_its_period(demo):
    first, last = demo["periods"][0], demo["periods"][-1]
    with ro(demo["warehouse"]) as con:
        icn = con.execute("SELECT min(icn) FROM claim_outcomes WHERE period = ? AND row_type = 'line'", [first]).fetchone()[0]
    res = runner.invoke(app, ["explain", "--warehouse", str(demo["warehouse"]), "--period", last, "--icn", icn,
                              "--line", "1"])
    assert res.exit_code == 1 and f"it is in {first}" in res.output
    assert _explain(demo["warehouse"], first, icn, 1)  # the right period: found


@pytest.mark.parametrize("rule_id", ["IHS-DAILY-CAP", "IHS-REMOTE-CAP", "GEN-AUTH-UNITS"])
def test_explain_shows_the_cap_or_authorization_a_reduction_reached(demo, rule_id):
    """A line reduced by a cap or by the agreement is paid exactly up to it: the usage explain shows after
    this line equals the cap, or nothing is left on the agreement line."""
    period = demo["periods"][-1]
    wh = demo["warehouse"]
    with ro(wh) as con:
        row = con.execute("SELECT icn, line_no FROM denial_ledger WHERE period = ? AND rule_id = ? AND is_primary "
                          "ORDER BY icn LIMIT 1", [period, rule_id]).fetchone()
    assert row, f"the demo month has no {rule_id} reduction"
    item = json.loads(_explain(wh, period, row[0], row[1], "--json"))["lines"][0]
    assert item["outcome"] == "partial"
    caps = item["caps"]
    if rule_id == "IHS-DAILY-CAP":
        assert Decimal(caps["day"]["in_person_ihs_units_paid"]) == Decimal(caps["day"]["cap"])
        assert "Daily cap:" in _explain(wh, period, row[0], row[1])
    elif rule_id == "IHS-REMOTE-CAP":
        assert Decimal(caps["remote_year"]["remote_units_paid"]) == Decimal(caps["remote_year"]["cap"])
        assert "Remote cap:" in _explain(wh, period, row[0], row[1])
    else:
        assert Decimal(item["agreement"]["left_units"]) == 0 and Decimal(item["agreement"]["this_line_units"]) > 0


def test_explain_invariants_on_any_line(demo):
    """For any line of the month: its rules' dollars are its adjusted dollars, paid + adjusted = billed, the
    rules come in precedence order and no recipient id shows unmasked."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from claimrecon import explain as ex

    period = demo["periods"][-1]
    con = ro(demo["warehouse"])
    keys = con.execute("SELECT icn, line_no, recipient_id FROM claim_outcomes WHERE period = ? ORDER BY icn, line_no, "
                       "row_type", [period]).fetchall()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(keys))
    def check(key):
        icn, line_no, pmi = key
        r = ex.explain(con, period, icn, line_no)
        for item in r["lines"]:
            assert sum((f["amount"] for f in item["rules"]), Decimal(0)) == item["adjusted_amount"]
            assert item["paid_amount"] + item["adjusted_amount"] == item["billed_amount"]
            ranks = [RANK.get(f["rule_id"], len(RANK)) for f in item["rules"]]
            assert ranks == sorted(ranks)
        if pmi:
            assert pmi not in ex.to_json(r) and pmi not in ex.render_text(r)

    try:
        check()
    finally:
        con.close()
