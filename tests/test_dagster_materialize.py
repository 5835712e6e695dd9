"""The assets through `dg.materialize` on a persistent Dagster instance: asset metadata for the UI,
every asset check passing, and no PHI anywhere in Dagster's event log, run storage or compute logs."""

import re
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.claim_run import ASSETS
from pipelines.definitions import resources
from tests.conftest import record_reliability, ro

NARRATIVE = "Secret narrative: Ms Q said her neighbour Zebulon visits"


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    from claimrecon.generator import generate

    root = tmp_path_factory.mktemp("mat")
    s = generate(root / "inbox", months=1, seed=23, scale="demo")
    period = s["periods"][0]
    logs = sorted((root / "inbox" / period / "service_logs").glob("evv_1*.csv"))[0]
    df = pl.read_csv(logs, infer_schema=False)
    df = df.with_columns(pl.lit(NARRATIVE).alias("narrative"))
    df.write_csv(logs)
    home = root / "dagster_home"
    home.mkdir()
    instance = dg.DagsterInstance.local_temp(str(home))
    wh = root / "wh" / "claimrecon.duckdb"
    result = dg.materialize(ASSETS, partition_key=period, instance=instance,
                            resources=resources(str(wh), str(root / "inbox")), raise_on_error=False)
    return {"root": root, "period": period, "wh": wh, "result": result, "instance": instance, "home": home}


def test_materialize_succeeds_with_every_check_passing(materialized):
    r = materialized["result"]
    assert r.success
    checks = {e.asset_check_key.name: e.passed for e in r.get_asset_check_evaluations()}
    assert checks == {"balance": True, "conservation": True, "gx_file_controls": True, "gx_balance": True,
                      "gx_judged_once": True}


def test_outputs_carry_row_counts_schemas_and_previews(materialized):
    r = materialized["result"]
    mats = {e.materialization.asset_key.to_user_string(): e.materialization.metadata
            for e in r.get_asset_materialization_events()}
    with ro(materialized["wh"]) as con:
        for table in ("claim_outcomes", "denial_ledger", "payable_claims", "findings", "log_billability"):
            md = mats[table]
            n = con.execute(f"SELECT count(*) FROM {table} WHERE period = ?", [materialized["period"]]).fetchone()[0]
            assert md["dagster/row_count"].value == n > 0
            names = {c.name for c in md["dagster/column_schema"].schema.columns}
            assert "period" in names
            assert md["preview"].value.startswith("| ")
            assert "recipient_id" not in md["preview"].value
    assert "paid_amount" in {c.name for c in mats["claim_outcomes"]["dagster/column_schema"].schema.columns}
    assert mats["claims_extract"]["dagster/row_count"].value > 1000


def _phi(root: Path, period: str) -> list[str]:
    rec = pl.read_csv(root / "inbox" / period / "reference" / "recipients.csv", infer_schema=False)
    return rec["recipient_id"].to_list() + rec["birth_date"].to_list() + [NARRATIVE, "Zebulon", "goals reviewed"]


def scan(text: str, secrets: list[str]) -> list[str]:
    """Secrets found in text; numeric ids only as whole tokens (not inside a longer number)."""
    found = []
    for s in secrets:
        pat = rf"(?<![0-9]){re.escape(s)}(?![0-9])" if s.isdigit() else re.escape(s)
        if re.search(pat, text):
            found.append(s)
    return found


def test_no_phi_in_the_dagster_event_log_or_storage(materialized):
    secrets = _phi(materialized["root"], materialized["period"])
    inst = materialized["instance"]
    texts = []
    for run in inst.get_runs():
        for ev in inst.all_logs(run.run_id):
            texts.append(dg.serialize_value(ev))
        texts.append(dg.serialize_value(run))
    assert len(texts) > 20
    assert scan("\n".join(texts), secrets) == []
    # and every file Dagster wrote under its home (sqlite storage, compute logs)
    raw = b"".join(p.read_bytes() for p in materialized["home"].rglob("*") if p.is_file())
    assert scan(raw.decode("utf-8", "replace"), secrets) == []
    record_reliability("PHI", f"a month with recognisable narratives; {len(secrets)} recipient ids, birth dates and "
                       "narratives searched for in Dagster's event log, run records and every file under DAGSTER_HOME",
                       len(secrets), "none found")


def test_phi_is_in_the_warehouse_only_owner_readable(materialized):
    wh = materialized["wh"]
    assert wh.stat().st_mode & 0o077 == 0 and wh.parent.stat().st_mode & 0o077 == 0
    with ro(wh) as con:
        assert con.execute("SELECT count(*) FROM contacts WHERE narrative = ?", [NARRATIVE]).fetchone()[0] > 0
    files = list((wh.parent / "reports").rglob("*"))
    for p in files:
        assert p.stat().st_mode & 0o077 == 0, p
    record_reliability("PHI", "permissions of the warehouse, its folder and every report file", len(files) + 2,
                       "owner-only (0600 files, 0700 folders)")
