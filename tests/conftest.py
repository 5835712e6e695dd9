import os
import shutil
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore")
os.umask(0o077)


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """Two generated demo months, run in order through the Dagster job into one warehouse."""
    from claimrecon.generator import generate
    from claimrecon.runner import run_period

    root = tmp_path_factory.mktemp("demo")
    summary = generate(root / "inbox", months=2, seed=11, scale="demo")
    wh = root / "wh" / "claimrecon.duckdb"
    results = [run_period(root / "inbox", p, wh) for p in summary["periods"]]
    return {"root": root, "inbox": root / "inbox", "warehouse": wh, "periods": summary["periods"], "results": results}


@pytest.fixture
def demo_copy(demo, tmp_path):
    """A private copy of the demo inbox and warehouse for tests that change them."""
    inbox = tmp_path / "inbox"
    shutil.copytree(demo["inbox"], inbox)
    wh = tmp_path / "wh" / "claimrecon.duckdb"
    wh.parent.mkdir()
    shutil.copyfile(demo["warehouse"], wh)
    return {"inbox": inbox, "warehouse": wh, "periods": demo["periods"]}


def ro(path: Path):
    import duckdb
    return duckdb.connect(str(path), read_only=True)
