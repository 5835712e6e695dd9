"""Definitions load, the catalog page is current, the CLI prints no PHI."""

import subprocess
import sys

import polars as pl

from contracts.rules import ALL_RULES, DEACTIVATED_CODES, PRECEDENCE, RULES


def test_definitions_resolve_job_schedule_and_sensor():
    from pipelines.definitions import defs
    d = defs()
    job = d.resolve_job_def("monthly_claim_run")
    assert job.partitions_def is not None
    assert d.resolve_schedule_def("monthly_claim_run_schedule")
    assert d.resolve_sensor_def("inbox_month_sensor")
    keys = {k.to_user_string() for k in d.resolve_asset_graph().get_all_asset_keys()}
    assert {"claim_outcomes", "denial_ledger", "payable_claims", "findings", "published_warehouse", "claims_extract"} <= keys


def test_rule_catalog_page_is_current():
    from claimrecon.catalog import CATALOG_PAGE, render
    assert CATALOG_PAGE.read_text() == render()


def test_every_spec_rule_id_is_defined_once_with_codes():
    spec = (__import__("claimrecon.paths").paths.ROOT.parent / "shared" / "spec" / "rules.md").read_text()
    import re
    ids = set(re.findall(r"^\| `([A-Z0-9-]+)`", spec, flags=re.M))
    assert ids == set(RULES), ids ^ set(RULES)
    assert len({r.id for r in ALL_RULES}) == len(ALL_RULES)
    for r in ALL_RULES:
        assert r.message and r.citation
        assert r.carc not in DEACTIVATED_CODES and r.rarc not in DEACTIVATED_CODES
        if r.kind in ("log", "claim", "reduction", "pricing"):
            assert r.group_code in ("CO", "OA") and r.carc
    assert PRECEDENCE.index("GEN-AUTH-NONE") < PRECEDENCE.index("CM-AIDE-AS-CM") < PRECEDENCE.index("GEN-DOC-NONE")


def test_cli_run_output_has_no_recipient_ids_or_narratives(demo_copy):
    inbox = demo_copy["inbox"]
    period = demo_copy["periods"][0]
    proc = subprocess.run([sys.executable, "-m", "claimrecon.cli", "run", "--inbox", str(inbox), "--period", period,
                           "--warehouse", str(demo_copy["warehouse"])], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "balanced to" in proc.stdout
    recipients = pl.read_csv(inbox / period / "reference" / "recipients.csv", infer_schema=False)["recipient_id"]
    text = proc.stdout + proc.stderr
    assert not [pmi for pmi in recipients.to_list() if pmi in text]
    assert "goals reviewed" not in text and "developed case plan" not in text
    from tests.conftest import record_reliability
    record_reliability("PHI", "everything `claimrecon run` printed (stdout and stderr) searched for every recipient id "
                       "and narrative", len(recipients) + 2, "none found")


def test_cli_refusal_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "claimrecon.cli", "run", "--inbox", str(tmp_path), "--period", "2026-01",
                           "--warehouse", str(tmp_path / "w.duckdb")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no folder for 2026-01" in proc.stderr
