"""The X12 835 remittance advice: every file of the demo months and of four hand-made months passes pyx12,
reads back through x12sdk, balances at line, claim and transaction level, and carries exactly the money of
``claim_outcomes`` and ``denial_ledger``. Hand-made cases: partial payments, a line with two RARCs, CO-45,
an all-denied provider, a front-end reject (never on an 835), a void and a replacement (status 22), a UMPI
payee with and without a tin, and a negative net forwarded (PLB FB) and recovered over two later months."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from claimrecon.generator import CLAIM_COLS, LOG_COLS, PROV_COLS, REC_COLS, SA_COLS, STAFF_COLS, _write_csv, _write_pipe
from claimrecon.paths import REMITTANCE_CODES
from claimrecon.runner import run_period
from contracts import front_end as fe
from contracts.rules import ALL_RULES, DEACTIVATED_CODES, auth_none_codes
from tests.book import Book
from tests.conftest import ro
from tests.x12_reader import balance_problems, pyx12_errors, read_835

FIXTURES = Path(__file__).parent / "fixtures" / "x12"


def code_list() -> tuple[set[tuple[str, str]], set[str]]:
    with open(REMITTANCE_CODES) as f:
        rows = list(csv.DictReader(f))
    return ({(r["group_code"], r["code"]) for r in rows if r["kind"] == "CARC"},
            {r["code"] for r in rows if r["kind"] == "RARC"})


def warehouse_view(con, period: str) -> dict[str, dict]:
    """What the 835s must say, straight from the warehouse: provider -> (claim ICN, reversal?) -> line -> money."""
    out: dict[str, dict] = defaultdict(lambda: defaultdict(dict))
    for pid, icn, rev, line_no, billed, paid, units, sf, sr, rt in con.execute("""
            SELECT billing_provider_id, CASE WHEN outcome IN ('voided', 'replaced') THEN reverses_icn ELSE icn END,
                   outcome IN ('voided', 'replaced'), line_no, billed_amount, paid_amount, paid_units, source_file,
                   source_row, row_type
            FROM claim_outcomes WHERE period = ? AND outcome <> 'rejected'""", [period]).fetchall():
        cas = {(g, c): a for g, c, a in con.execute(
            """SELECT group_code, carc, sum(amount) FROM denial_ledger WHERE period = ? AND source_file = ?
               AND source_row = ? AND row_type = ? GROUP BY ALL HAVING sum(amount) <> 0""", [period, sf, sr, rt]).fetchall()}
        out[pid][(icn, rev)][str(line_no)] = (billed, paid, units, cas)
    return out


def check_period(con, reports: Path, period: str) -> dict[str, dict]:
    """Every 835 of the period: pyx12 finds nothing, it balances, every code is on our list, and each claim
    and line reads back with the warehouse's money. Returns provider -> the transaction read back."""
    carcs, rarcs = code_list()
    want = warehouse_view(con, period)
    files = sorted((reports / period / "x12").glob("*.835"))
    written = {p.stem for p in files}
    withheld = {r[0] for r in con.execute("SELECT billing_provider_id FROM provider_balances WHERE period = ? "
                                          "AND withheld_reason IS NOT NULL", [period]).fetchall()}
    assert written | withheld == set(want) and not written & withheld
    got: dict[str, dict] = {}
    total = Decimal(0)
    for path in files:
        assert pyx12_errors(path) == [], path.name
        [t] = read_835(path)
        assert balance_problems(t) == [], path.name
        assert t["bpr16"] and t["per_bl"] == ["BL"]
        claims = {(c["icn"], c["status"] == "22"): c for c in t["claims"]}
        assert set(claims) == set(want[path.stem]), path.name
        for key, c in claims.items():
            lines = want[path.stem][key]
            assert {ln["line_no"]: (ln["charge"], ln["paid"], ln["paid_units"], {(a[0], a[1]): a[2] for a in ln["cas"]})
                    for ln in c["lines"]} == lines
            for ln in c["lines"]:
                assert {(a[0], a[1]) for a in ln["cas"]} <= carcs and set(ln["rarcs"]) <= rarcs
        total += sum(c["paid"] for c in t["claims"])
        got[path.stem] = t
    paid = con.execute("SELECT coalesce(sum(paid_amount), 0) FROM claim_outcomes WHERE period = ? AND outcome <> 'rejected' "
                       "AND billing_provider_id IN (SELECT unnest(?))", [period, sorted(written)]).fetchone()[0]
    assert total == paid
    return got


# ---------------------------------------------------------------------------- the demo months

def test_demo_835s_pass_pyx12_balance_and_carry_the_warehouse_money(demo):
    reports = demo["warehouse"].parent / "reports"
    with ro(demo["warehouse"]) as con:
        for period in demo["periods"]:
            got = check_period(con, reports, period)
            adjudicated = con.execute("SELECT sum(paid_amount) FROM claim_outcomes WHERE period = ? AND outcome <> 'rejected'",
                                      [period]).fetchone()[0]
            assert sum(sum(c["paid"] for c in t["claims"]) for t in got.values()) == adjudicated  # nothing withheld
            umpi = [pid for pid in got if not pid.isdigit()]
            assert len(umpi) == 1
            u = got[umpi[0]]
            tin = con.execute("SELECT tin FROM providers WHERE provider_id = ? AND period = ?", [umpi[0], demo["periods"][0]]).fetchone()[0]
            assert (u["payee_qualifier"], u["payee_id"], u["payee_refs"]) == ("FI", tin, {"PQ": umpi[0]})
            assert all(c["pcn"].startswith("INV-") and c["pcn"] != c["icn"] for c in u["claims"])
            assert all(t["payee_qualifier"] == "XX" and t["payee_id"] == pid for pid, t in got.items() if pid.isdigit())
        reversals = [c for t in got.values() for c in t["claims"] if c["status"] == "22"]
        assert reversals and all(c["paid"] <= 0 and c["charge"] < 0 for c in reversals)
    html = (reports / demo["periods"][-1] / f"claimrecon_{demo['periods'][-1]}.html").read_text()
    assert all(f"x12/{pid}.835" in html for pid in got)


def test_one_demo_file_validator_output(demo, capsys):
    """The pyx12 verdict on one demo provider's 835, printed for the record (-s shows it)."""
    path = sorted((demo["warehouse"].parent / "reports" / demo["periods"][-1] / "x12").glob("A*.835"))[0]
    errors = pyx12_errors(path)
    with capsys.disabled():
        print(f"\npyx12 4.0 on {path.name}: {len(path.read_text().splitlines())} segments, "
              f"{'no errors' if not errors else errors}")
    assert errors == []


def test_demo_rerun_writes_the_same_835_bytes(demo, demo_copy):
    period = demo_copy["periods"][-1]
    run_period(demo_copy["inbox"], period, demo_copy["warehouse"])
    before = demo["warehouse"].parent / "reports" / period / "x12"
    after = demo_copy["warehouse"].parent / "reports" / period / "x12"
    names = sorted(p.name for p in before.glob("*.835"))
    assert names and names == sorted(p.name for p in after.glob("*.835"))
    assert all((before / n).read_bytes() == (after / n).read_bytes() for n in names)
    assert all((after / n).stat().st_mode & 0o077 == 0 for n in names)  # owner-only: full recipient ids inside


def test_pyx12_and_the_balance_check_catch_a_broken_835(demo, tmp_path):
    """The validators fail at the boundary: a missing required segment (pyx12) and a cent off (balance)."""
    src = sorted((demo["warehouse"].parent / "reports" / demo["periods"][0] / "x12").glob("*.835"))[0]
    text = src.read_text()
    no_n3 = tmp_path / "no_n3.835"
    no_n3.write_text("\n".join(ln for ln in text.splitlines() if not ln.startswith("N3*")) + "\n")
    assert any("N3" in e for e in pyx12_errors(no_n3)) and pyx12_errors(src) == []
    [t] = read_835(src)
    assert balance_problems(t) == []
    t["claims"][0]["lines"][0]["paid"] += Decimal("0.01")
    assert any("SVC02" in p for p in balance_problems(t))


# ---------------------------------------------------------------------------- hand-made months

UMPI, UMPI_NO_TIN = "A000000123", "A000000456"


def _write(b: Book, root: Path, claim_cols=CLAIM_COLS, prov_cols=PROV_COLS) -> None:
    base = root / b.period
    for sub in ("claims", "authorizations", "service_logs", "reference"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    _write_pipe(base / "claims" / f"mmis_claims_{b.period}.txt", claim_cols, b.claims, "billed_amount", [])
    _write_pipe(base / "authorizations" / f"mmis_sa_{b.period}.txt", SA_COLS, b.sa, "authorized_units")
    _write_csv(base / "service_logs" / f"evv_{b.period}.csv", LOG_COLS, b.logs)
    _write_csv(base / "reference" / "recipients.csv", REC_COLS, b.recipients)
    _write_csv(base / "reference" / "providers.csv", prov_cols, b.providers)
    _write_csv(base / "reference" / "staff.csv", STAFF_COLS, b.staff)


def _month(world: Book, period: str, k: int) -> Book:
    b = Book(period, base=world._n + 1000 * k)
    b.providers, b.staff, b.recipients, b.sa = world.providers, world.staff, world.recipients, world.sa
    return b


def _served(b: Book, pmi, provider, staff, days, units=8, minutes=120, **kw) -> list[dict]:
    """One claim of IHS with training, a line per day, each documented by a contact."""
    rows = []
    for i, day in enumerate(days, start=1):
        b.contact(pmi, provider, staff, "IHS_WT", day=day, minutes=minutes, start=kw.pop("start", "09:00"))
        rows.append(b.claim(None, pmi, provider, "IHS_WT", day=day, units=units, received=kw.get("received", b.period + "-10"),
                            icn=rows[0]["icn"] if rows else None, line_no=i, amount=kw.get("amount")))
    return rows


@pytest.fixture(scope="module")
def x12_months(tmp_path_factory):
    root = tmp_path_factory.mktemp("x12")
    inbox, wh = root / "inbox", root / "wh" / "claimrecon.duckdb"
    m1 = Book("2026-01")
    a = m1.provider()
    m1.providers[-1]["tin"] = "411111111"
    b_ = m1.provider()
    m1.providers += [{"provider_id": UMPI, "name": "Atypical Supports*Inc", "enrollment_start": "2020-01-01",
                      "enrollment_end": "", "licenses": "245D_BASIC 245D_INTENSIVE", "case_management_agency": "N",
                      "tin": "412222222"},
                     {"provider_id": UMPI_NO_TIN, "name": "No Tax Id Supports", "enrollment_start": "2020-01-01",
                      "enrollment_end": "", "licenses": "245D_BASIC 245D_INTENSIVE", "case_management_agency": "N"}]
    sa_, sb, su, sv = (m1.staff_member(p) for p in (a, b_, UMPI, UMPI_NO_TIN))
    people = {k: m1.person(sleep=("23:45", "05:00") if k == "a3" else ("", ""))
              for k in ("a1", "a2", "a3", "a4", "b1", "u1", "v1")}
    m1.sa_line(people["a1"], a, "IHS_WT")
    m1.sa_line(people["a2"], a, "IHS_WT", units=5)
    m1.sa_line(people["a3"], a, "IHS_WT", units=66)
    m1.sa_line(people["a4"], a, "IHS_WT")
    m1.sa_line(people["u1"], UMPI, "IHS_WT")
    m1.sa_line(people["v1"], UMPI_NO_TIN, "IHS_WT")
    a1 = _served(m1, people["a1"], a, sa_, ["2025-12-01", "2025-12-02", "2025-12-03"])
    for r in a1:
        r["patient_control_number"] = "A-INV-0001"
    a2 = _served(m1, people["a2"], a, sa_, ["2025-12-04"])  # 5 units authorized: partial, CO-198 N45
    # 70 units billed and documented, 66 authorized (GEN-AUTH-UNITS takes 4, CO-198 N45), then the daily cap of 64
    # (IHS-DAILY-CAP takes 2, CO-119 N362): a line with two CARCs and two RARCs
    a3 = _served(m1, people["a3"], a, sa_, ["2025-12-05"], units=70, minutes=1050, start="06:00")
    a4 = _served(m1, people["a4"], a, sa_, ["2025-12-06"], amount=Decimal("81.00"))  # above the rate: CO-45
    rejected = m1.claim(None, people["a1"], a, "IHS_WT", day="2025-12-07", units=8)
    rejected["units"] = "0"  # FE-VALUE: never adjudicated, never on an 835
    b1 = _served(m1, people["b1"], b_, sb, ["2025-12-01", "2025-12-02"])  # no agreement line: all denied
    u1 = _served(m1, people["u1"], UMPI, su, ["2025-12-01", "2025-12-02"])
    for r in u1:
        r["patient_control_number"] = "U-INV-0001"
    _served(m1, people["v1"], UMPI_NO_TIN, sv, ["2025-12-01"])
    _write(m1, inbox)

    m2 = _month(m1, "2026-02", 1)  # A: void of a1 (-228) and one new line (+76): nets -152, forwarded
    void_icn = "2026020500000001"
    for r in a1:
        m2.claims.append(dict(r, icn=void_icn, adjustment_ind="1", original_icn=r["icn"], received_date="2026-02-05",
                              patient_control_number=""))
    _served(m2, people["a4"], a, sa_, ["2026-01-05"])
    repl_icn = "2026020500000002"  # U: replacement of u1 with its first line only, one unit less
    m2.claims.append(dict(u1[0], icn=repl_icn, adjustment_ind="4", original_icn=u1[0]["icn"], received_date="2026-02-05",
                          units="7", billed_amount="66.50", patient_control_number="U-INV-0001R"))
    _write(m2, inbox)

    m3 = _month(m1, "2026-03", 2)  # A nets +76: all of it recovered, nothing paid
    _served(m3, people["a4"], a, sa_, ["2026-02-02"])
    _write(m3, inbox)

    m4 = _month(m1, "2026-04", 3)  # A nets +152: the last 76 recovered, 76 paid; an inbox without the revision-2 columns
    _served(m4, people["a4"], a, sa_, ["2026-03-02", "2026-03-03"])
    _write(m4, inbox, [c for c in CLAIM_COLS if c != "patient_control_number"], [c for c in PROV_COLS if c != "tin"])

    periods = ["2026-01", "2026-02", "2026-03", "2026-04"]
    for p in periods:
        run_period(inbox, p, wh)
    return {"wh": wh, "reports": wh.parent / "reports", "periods": periods, "A": a, "B": b_, "a1": a1, "a2": a2,
            "a3": a3, "a4": a4, "u1": u1, "b1": b1, "rejected": rejected, "void_icn": void_icn, "repl_icn": repl_icn}


@pytest.fixture(scope="module")
def x12_read(x12_months):
    with ro(x12_months["wh"]) as con:
        return {p: check_period(con, x12_months["reports"], p) for p in x12_months["periods"]}


def _claim(t: dict, icn: str, status: str | None = None) -> dict:
    [c] = [c for c in t["claims"] if c["icn"] == icn and (status is None or c["status"] == status)]
    return c


def test_hand_made_835s_pass_pyx12_balance_and_carry_the_warehouse_money(x12_months, x12_read):
    assert [sorted(x12_read[p]) for p in x12_months["periods"]] == [
        sorted([x12_months["A"], x12_months["B"], UMPI]), sorted([x12_months["A"], UMPI]), [x12_months["A"]],
        [x12_months["A"]]]


def test_partial_payments_two_rarcs_and_co45_lines(x12_months, x12_read):
    t = x12_read["2026-01"][x12_months["A"]]
    a1 = _claim(t, x12_months["a1"][0]["icn"])
    assert (a1["pcn"], a1["status"], a1["charge"], a1["paid"], len(a1["lines"])) == ("A-INV-0001", "1", 228, 228, 3)
    [a2] = _claim(t, x12_months["a2"][0]["icn"])["lines"]
    assert (a2["charge"], a2["paid"], a2["paid_units"], a2["billed_units"]) == (76, Decimal("47.5"), 5, 8)
    assert a2["cas"] == [("CO", "198", Decimal("28.5"), 3)] and a2["rarcs"] == ["N45"]
    [a3] = _claim(t, x12_months["a3"][0]["icn"])["lines"]
    assert (a3["charge"], a3["paid"], a3["paid_units"], a3["cas_segments"], a3["rarcs"]) == (665, 608, 64, ["CO"], ["N362", "N45"])
    assert sorted(a3["cas"]) == [("CO", "119", 19, 2), ("CO", "198", 38, 4)]
    [a4] = _claim(t, x12_months["a4"][0]["icn"])["lines"]
    assert (a4["paid"], a4["cas"]) == (76, [("CO", "45", Decimal("5"), Decimal("0"))])  # CO-45 has no units
    assert x12_months["rejected"]["icn"] not in {c["icn"] for c in t["claims"]}  # front-end reject: not on the 835
    assert (t["handling"], t["payment"], t["plb"]) == ("I", 228 + Decimal("47.5") + 608 + 76, [])


def test_all_denied_provider_gets_status_4_and_a_notice_without_payment(x12_months, x12_read):
    t = x12_read["2026-01"][x12_months["B"]]
    [c] = t["claims"]
    assert (c["status"], c["paid"], len(c["lines"]), t["handling"], t["payment"], t["method"], t["plb"]) == \
        ("4", 0, 2, "H", 0, "NON", [])
    assert all(ln["cas"] and ln["cas"][0][:2] == ("CO", "197") and ln["rarcs"] == ["N54"] for ln in c["lines"])


def test_void_and_replacement_are_reversal_claims_with_the_original_claim_numbers(x12_months, x12_read):
    a = x12_read["2026-02"][x12_months["A"]]
    void = _claim(a, x12_months["a1"][0]["icn"], "22")  # CLP07 the reversed ICN, CLP01 its own claim number
    assert (void["pcn"], void["charge"], void["paid"]) == ("A-INV-0001", -228, -228)
    assert [ln["line_no"] for ln in void["lines"]] == ["1", "2", "3"] and all(ln["paid_units"] == -8 for ln in void["lines"])
    u = x12_read["2026-02"][UMPI]
    rev = _claim(u, x12_months["u1"][0]["icn"], "22")
    assert (rev["pcn"], rev["charge"], rev["paid"], len(rev["lines"])) == ("U-INV-0001", -152, -152, 2)
    new = _claim(u, x12_months["repl_icn"], "1")
    assert (new["pcn"], new["charge"]) == ("U-INV-0001R", Decimal("66.5"))
    assert x12_months["void_icn"] not in {c["icn"] for c in a["claims"]}


def test_negative_net_is_forwarded_then_recovered_by_plb(x12_months, x12_read):
    a = x12_months["A"]
    feb, mar, apr = (x12_read[p][a] for p in ("2026-02", "2026-03", "2026-04"))
    assert (feb["handling"], feb["payment"], feb["plb"]) == ("H", 0, [("FB", feb["trace"], Decimal("-152"))])
    assert (mar["handling"], mar["payment"], mar["plb"]) == ("H", 0, [("FB", feb["trace"], Decimal("76"))])
    assert (apr["handling"], apr["payment"], apr["plb"]) == ("I", 76, [("FB", feb["trace"], Decimal("76"))])
    with ro(x12_months["wh"]) as con:
        rows = con.execute("""SELECT period, opening_balance, claims_paid, forwarded, recovered, payment_amount,
                              closing_balance FROM provider_balances WHERE billing_provider_id = ? ORDER BY period""",
                           [a]).fetchall()
    jan = sum(c["paid"] for c in x12_read["2026-01"][a]["claims"])
    assert [tuple(r[1:]) for r in rows] == [(0, jan, 0, 0, jan, 0), (0, -152, 152, 0, 0, 152), (152, 76, 0, 76, 0, 76),
                                            (76, 152, 0, 76, 76, 0)]
    assert all(r[1] + r[3] - r[4] == r[6] and r[5] >= 0 for r in rows)


def test_umpi_payee_by_tin_and_a_umpi_without_tin_is_withheld_and_named(x12_months, x12_read):
    u = x12_read["2026-01"][UMPI]
    assert (u["payee_qualifier"], u["payee_id"], u["payee_refs"]) == ("FI", "412222222", {"PQ": UMPI})
    assert u["payee_name"] == "Atypical Supports Inc"  # the delimiter in the provider's name is not passed on
    a = x12_read["2026-01"][x12_months["A"]]
    assert (a["payee_qualifier"], a["payee_refs"]) == ("XX", {"TJ": "411111111"})
    reports = x12_months["reports"] / "2026-01"
    assert not (reports / "x12" / f"{UMPI_NO_TIN}.835").exists()
    with ro(x12_months["wh"]) as con:
        reason, paid = con.execute("SELECT withheld_reason, claims_paid FROM provider_balances WHERE period = '2026-01' "
                                   "AND billing_provider_id = ?", [UMPI_NO_TIN]).fetchone()
        total = con.execute("SELECT sum(paid_amount) FROM claim_outcomes WHERE period = '2026-01' AND outcome <> 'rejected'").fetchone()[0]
    assert "tin" in reason and paid == 76
    assert sum(c["paid"] for t in x12_read["2026-01"].values() for c in t["claims"]) + paid == total
    html = (reports / "claimrecon_2026-01.html").read_text()
    assert f"{UMPI_NO_TIN}: not written" in html and f"x12/{UMPI}.835" in html


def test_an_inbox_without_the_revision_2_columns_loads(x12_months, x12_read):
    with ro(x12_months["wh"]) as con:
        rows = con.execute("SELECT count(*), count(patient_control_number) FROM claims WHERE period = '2026-04'").fetchone()
        tins = con.execute("SELECT count(*), count(tin) FROM providers WHERE period = '2026-04'").fetchone()
    assert rows == (2, 0) and tins[0] == 4 and tins[1] == 0
    april = x12_read["2026-04"][x12_months["A"]]
    [c] = april["claims"]
    assert c["pcn"] == c["icn"]  # no claim number given: CLP01 is the ICN
    assert april["payee_refs"] == {"TJ": "411111111"}  # the tin last given stays known


# ---------------------------------------------------------------------------- codes, inputs, public samples

def test_every_code_a_rule_can_emit_is_on_the_list_and_none_is_deactivated():
    carcs, rarcs = code_list()
    for r in ALL_RULES:
        if r.carc:
            assert (r.group_code, r.carc) in carcs, r.id
        if r.rarc:
            assert r.rarc in rarcs, r.id
    for variant in ("other_service", "other_provider", ""):
        g, c, rarc = auth_none_codes(variant)
        assert (g, c) in carcs and rarc in rarcs
    assert not ({c for _, c in carcs} | rarcs) & DEACTIVATED_CODES
    assert all(c.isalnum() and len(c) <= 5 for _, c in carcs) and all(r[:1] in "MN" and r[1:].isdigit() for r in rarcs - {"MA130"})


CLEAN_PROVIDER = dict(provider_id="1234567893", name="P", enrollment_start="2020-01-01", enrollment_end=None,
                      licenses=None, case_management_agency="N", tin=None)


@pytest.mark.parametrize("tin,ok", [("123456789", True), (None, True), ("12345678", False), ("1234567890", False),
                                    ("12345678a", False), ("١٢٣٤٥٦٧٨٩", False), ("123 45678", False)])
def test_tin_is_nine_ascii_digits(tin, ok):
    frame = pl.DataFrame([dict(CLEAN_PROVIDER, tin=tin)], schema={c: pl.Utf8 for c in fe.columns("providers")})
    fails = fe.validate("providers", frame)
    assert fails.height == (0 if ok else 1)
    if not ok:
        assert fails.row(0, named=True)["rule_id"] == "FE-FORMAT" and "tin" in fails.row(0, named=True)["message"]


@pytest.mark.parametrize("pcn,ok", [("A" * 38, True), ("INV-2026/01 #7", True), (None, True), ("A" * 39, False),
                                    ("A*B", False), ("A:B", False), ("A~B", False), ("A^B", False), (" AB", False),
                                    ("AB ", False), ("ÄB", False)])
def test_patient_control_number_fits_clp01(pcn, ok):
    from tests.test_front_end import CATALOG, frame

    fails = fe.validate("claims", frame({"patient_control_number": pcn}), CATALOG)
    assert fails.height == (0 if ok else 1)
    if not ok:
        assert fails.row(0, named=True)["rule_id"] == "FE-FORMAT"


def test_public_835_samples_read_with_the_same_reader(tmp_path):
    """Files written elsewhere, read by the same reader: pyx12's own test file passes pyx12 and reads back
    through x12sdk; a sample of the LinuxForHealth x12 project balances but lacks PER*BL and a valid BPR16, and
    so does an 835 that x12sdk generates — pyx12 says exactly that."""
    path = FIXTURES / "835_mult_loops.txt"
    assert pyx12_errors(path) == []
    [t] = read_835(path)
    [c] = t["claims"]
    assert (t["handling"], t["payment"], t["payee_qualifier"], c["pcn"], c["status"], c["charge"], c["paid"]) == \
        ("H", 0, "FI", "2005555A", "4", Decimal("915.39"), 0)
    assert [(ln["charge"], ln["cas"][0][:3], ln["rarcs"]) for ln in c["lines"]] == [
        (Decimal("500.04"), ("CO", "16", Decimal("500.04")), ["N14"]),
        (Decimal("127.8"), ("OA", "A7", Decimal("127.8")), ["N14"]),
        (Decimal("287.55"), ("OA", "A7", Decimal("287.55")), ["N14"])]
    assert balance_problems(t) == []

    # x12's 005010X221A1 sample (tests/fixtures/x12/README.md): claim-level CAS, patient responsibility (PR). It
    # balances; pyx12 finds its BPR16 is no date and its PER*BL is missing
    mc = FIXTURES / "managed-care.835"
    [t] = read_835(mc)
    assert balance_problems(t) == [] and t["payment"] == Decimal("945")
    assert [(c["pcn"], c["charge"], c["paid"], c["claim_cas"]) for c in t["claims"]] == [
        ("5554555444", 800, 450, [("CO", "A2", Decimal("50"), 0)]), ("8765432112", 1200, 495, [("CO", "A2", Decimal("55"), 0)])]
    errors = pyx12_errors(mc)
    assert len(errors) == 2 and "BPR16" in errors[0] and "PER" in errors[1], errors
    t["claims"][0]["claim_cas"].clear()  # the balance check counts claim-level adjustments
    assert balance_problems(t) == ["claim 94060555410000: CLP03 - CAS != CLP04"]

    from x12sdk.generate import generate_835

    gen = tmp_path / "x12sdk_generated.835"
    gen.write_text(generate_835(seed=7, claims=3, provider_adjustments=1))
    [g] = read_835(gen)
    assert balance_problems(g) == [] and len(g["claims"]) == 3 and len(g["plb"]) == 1
    errors = pyx12_errors(gen)
    assert any("BPR16" in e or "Check Issue or EFT Effective Date" in e for e in errors), errors
    assert any("PER" in e for e in errors), errors


def test_an_835_that_would_not_balance_fails_the_run(demo, tmp_path):
    """The writer sums the claim loops a second way: a cent's difference from provider_balances refuses."""
    import duckdb

    from claimrecon import x12
    from claimrecon.errors import BalanceError

    db = tmp_path / "wh.duckdb"
    shutil.copyfile(demo["warehouse"], db)
    period = demo["periods"][0]
    with duckdb.connect(str(db)) as con:
        assert len(x12.write_period(con, period, tmp_path / "ok")) == len(x12.files(con, period))
        con.execute("UPDATE provider_balances SET claims_paid = claims_paid + 0.01, payment_amount = payment_amount + 0.01 "
                    "WHERE period = ? AND billing_provider_id = (SELECT min(billing_provider_id) FROM provider_balances "
                    "WHERE period = ?)", [period, period])
        with pytest.raises(BalanceError, match="does not balance"):
            x12.write_period(con, period, tmp_path / "bad")
