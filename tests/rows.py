"""Every output row of a warehouse, table by table: what two runs of the same inputs must agree on, whatever
executed them (in process, one process per step, Celery workers, the run queue)."""

from pathlib import Path

from tests.conftest import ro

TABLES = ("claim_outcomes", "denial_ledger", "log_billability", "findings", "rejected_records")


def output_rows(path: Path, periods: list[str] | None = None) -> dict[str, list[tuple]]:
    where = "" if periods is None else "WHERE period IN (SELECT unnest($p::VARCHAR[]))"
    with ro(path) as con:
        return {t: con.sql(f"SELECT * FROM {t} {where} ORDER BY ALL", params={"p": periods} if where else None).fetchall()
                for t in TABLES}
