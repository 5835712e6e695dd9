"""The DuckDB warehouse: one writer, a private staging copy per run, an atomic publish.

* Readers (analysts, reports) only ever open the *published* file, read-only.
* A run takes an exclusive ``flock`` on ``<warehouse>.lock`` for its whole life: a second run on the
  same warehouse is refused at once with a clear message (never two writers).
* The run copies the published file to ``.staging/<name>.<period>.duckdb``, does all its work
  there, and publishes with ``os.replace`` (atomic on POSIX). An analyst holding the old file open
  keeps reading the old inode undisturbed and sees the new month after reconnecting.
* A refused or crashed run leaves only a staging file behind; the next run starts from the
  published file again, so the last good warehouse is never touched.
* Files are created owner-only (0600, folders 0700): the warehouse holds PHI.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb

from claimrecon.db import run_script

from claimrecon.errors import WarehouseBusy


def secure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def secure_file(path: Path) -> None:
    if path.exists():
        os.chmod(path, 0o600)


#: DuckDB's memory for a run's connections. Past it DuckDB spills to `<staging file>.tmp` (inside the
#: owner-only staging folder) instead of growing; judging works in buckets of people, so it rarely has to.
MEMORY_LIMIT = os.environ.get("CLAIMRECON_DUCKDB_MEMORY", "2GB")


class Warehouse:
    def __init__(self, path: str | Path):
        self.path = Path(path).resolve()

    @property
    def staging_dir(self) -> Path:
        return self.path.parent / ".staging"

    def staging_path(self, period: str) -> Path:
        return self.staging_dir / f"{self.path.stem}.{period}.duckdb"

    @property
    def lock_path(self) -> Path:
        return self.path.parent / f".{self.path.name}.lock"

    # ------------------------------------------------------------------ the writer's lock
    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        secure_dir(self.path.parent)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise WarehouseBusy(f"another claim run is writing to {self.path.name}; try again when it has finished") from None
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ------------------------------------------------------------------ staging and publish
    def begin(self, period: str) -> Path:
        """Start a run: a fresh staging copy of the published warehouse, schema applied."""
        secure_dir(self.staging_dir)
        stage = self.staging_path(period)
        for leftover in (stage, Path(f"{stage}.wal")):
            leftover.unlink(missing_ok=True)
        if self.path.exists():
            shutil.copyfile(self.path, stage)
        secure_file(stage)
        with self.connect(period) as con:
            run_script(con, "schema.sql")
        return stage

    @contextlib.contextmanager
    def connect(self, period: str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to this run's staging file, always closed (also on error)."""
        stage = self.staging_path(period)
        if read_only and not stage.exists():
            raise FileNotFoundError(f"no staging warehouse for {period}: run the ingest first")
        con = duckdb.connect(str(stage), read_only=read_only, config={"memory_limit": MEMORY_LIMIT})
        try:
            yield con
        finally:
            con.close()
        secure_file(stage)

    def publish(self, period: str) -> Path:
        stage = self.staging_path(period)
        with self.connect(period) as con:
            con.execute("CHECKPOINT")
        with open(stage, "rb") as f:
            os.fsync(f.fileno())
        os.replace(stage, self.path)
        secure_file(self.path)
        dfd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        return self.path

    def discard(self, period: str) -> None:
        self.staging_path(period).unlink(missing_ok=True)

    @contextlib.contextmanager
    def read_published(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            yield con
        finally:
            con.close()
