"""The DuckDB warehouse: one writer, a private staging copy per run, and a publish that is one switch.

* Readers (analysts, reports) only ever open the *published* warehouse, read-only, at a stable path:
  ``<dir>/claimrecon.duckdb`` (and the reports at ``<dir>/reports/<YYYY-MM>/``).
* A run takes an exclusive ``flock`` on ``<warehouse>.lock`` for its whole life: a second run on the
  same warehouse is refused at once with a clear message (never two writers).
* The run copies the published file to ``.staging/<name>.<period>.duckdb`` and does all its work
  there; its reports are staged in ``.staging/reports/<period>``.
* Publishing is ONE atomic switch. Each publish is a version folder holding the warehouse file and every
  month's reports (earlier months hard-linked, not copied):
  ``.<name>.published/versions/<id>/{<name>, reports/<YYYY-MM>/}``; the symbolic link
  ``.<name>.published/current`` names the version readers see, and is replaced with one ``rename``.
  The stable paths are fixed links through it: ``<name> -> .<name>.published/current/<name>`` and
  ``reports -> .<name>.published/current/reports``, so the warehouse and its reports change together.
  A crash at any instant leaves either the old pair or the new pair; the next run removes a half-built
  version (roll back) or finishes the tidying after a switch (complete). An analyst holding the old
  file open keeps reading it undisturbed and sees the new month after reconnecting.
* A warehouse published before this layout (a plain file and a plain reports folder) is moved into it
  by the next run, before anything new is written: hard links, so readers see the same data throughout.
* Files are created owner-only (0600, folders 0700, umask 077 for the run): the warehouse holds PHI.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb

from claimrecon.db import run_script
from claimrecon.errors import RunRefused, WarehouseBusy, describe_os_error, printable


def secure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def secure_file(path: Path) -> None:
    if path.exists():
        os.chmod(path, 0o600)


#: DuckDB's memory for a run's connections. Past it DuckDB spills to `<staging file>.tmp` (inside the
#: owner-only staging folder) instead of growing; judging works in buckets of people, so it rarely has to. 1.5 GB:
#: with a bucket's Polars frames beside it a state month's run stays under 3 GiB (2 GB gave 3.3 GiB in the claim step).
MEMORY_LIMIT = os.environ.get("CLAIMRECON_DUCKDB_MEMORY", "1.5GB")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link(target: str, at: Path) -> None:
    """Make ``at`` a symbolic link to ``target``, atomically (a new link renamed over whatever was there)."""
    if at.is_symlink() and os.readlink(at) == target:
        return
    tmp = at.with_name(f".{at.name}.{uuid.uuid4().hex[:8]}.tmp")
    os.symlink(target, tmp)
    os.replace(tmp, at)


def _hardlink_tree(src: Path, dst: Path) -> None:
    """Copy a published folder as hard links (no bytes copied; published files are never changed in place)."""
    def link(a, b):
        try:
            os.link(a, b)
        except OSError:  # another file system: copy
            shutil.copy2(a, b)
    shutil.copytree(src, dst, copy_function=link, symlinks=False)


def is_duckdb_file(path: Path) -> bool:
    """DuckDB's file header: the magic bytes 'DUCK' at offset 8."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return len(head) == 12 and head[8:12] == b"DUCK"


class Warehouse:
    def __init__(self, path: str | Path):
        # the stable path readers use; it is a link into the published version, and is never resolved
        self.path = Path(os.path.abspath(path))

    @property
    def published_dir(self) -> Path:
        return self.path.parent / f".{self.path.name}.published"

    @property
    def current(self) -> Path:
        return self.published_dir / "current"

    @property
    def reports_link(self) -> Path:
        return self.path.parent / "reports"

    def staged_reports(self, period: str) -> Path:
        return self.staging_dir / "reports" / period

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
        os.umask(0o077)  # whatever started the run (`dagster dev`, a scheduler): what it writes is owner-only
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
        """Start a run: finish or roll back an interrupted publish, then a fresh staging copy of the
        published warehouse, schema applied."""
        self.recover()
        secure_dir(self.staging_dir)
        stage = self.staging_path(period)
        for leftover in (stage, Path(f"{stage}.wal")):
            leftover.unlink(missing_ok=True)
        if self.path.exists():
            if not is_duckdb_file(self.path):
                raise RunRefused(self.damaged())
            try:
                shutil.copyfile(self.path, stage)
            except OSError as e:
                stage.unlink(missing_ok=True)
                raise RunRefused(f"cannot copy the warehouse {printable(self.path)} to {printable(self.staging_dir)}: "
                                 f"{describe_os_error(e)}") from None
        secure_file(stage)
        try:
            with self.connect(period) as con:
                run_script(con, "schema.sql")
        except duckdb.Error as e:
            if "No space left" in str(e):
                raise RunRefused(f"cannot prepare the staging warehouse in {printable(self.staging_dir)}: the disk is full") from None
            if self.path.exists():
                raise RunRefused(self.damaged()) from None
            raise
        return stage

    def damaged(self) -> str:
        return (f"the warehouse file {printable(self.path)} is not a DuckDB database or is damaged: restore it from a "
                "backup or move it aside; nothing was changed")

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

    def publish(self, period: str, staged_reports: Path | None = None, reports_dir: Path | None = None) -> Path:
        """Publish the staging warehouse and the period's staged reports together: build a new version
        folder (the warehouse, this period's reports, every other month's reports hard-linked from the
        current version), then switch ``current`` to it with one rename. ``reports_dir``, when the
        reports are kept elsewhere, gets ``<reports_dir>/<period>`` as a link through ``current``."""
        stage = self.staging_path(period)
        with self.connect(period) as con:
            con.execute("CHECKPOINT")
        with open(stage, "rb") as f:
            os.fsync(f.fileno())
        versions = secure_dir(self.published_dir / "versions")
        version = versions / f"{period}-{uuid.uuid4().hex[:12]}"
        secure_dir(version)
        reports = secure_dir(version / "reports")
        current_reports = self.current / "reports"
        if current_reports.is_dir():
            for month in sorted(current_reports.iterdir()):
                if month.name != period and month.is_dir() and not month.is_symlink():
                    _hardlink_tree(month, reports / month.name)
        if staged_reports is not None and staged_reports.exists():
            os.replace(staged_reports, reports / period)
        os.replace(stage, version / self.path.name)
        secure_file(version / self.path.name)
        for d in (reports, version, versions):
            _fsync_dir(d)
        _link(f"versions/{version.name}", self.current)  # THE switch: warehouse and reports together
        _fsync_dir(self.published_dir)
        self._stable_links()
        if reports_dir is not None and Path(reports_dir).resolve() != self.reports_link.resolve():
            secure_dir(Path(reports_dir))
            self._link_replacing_folder(Path(reports_dir) / period, str(self.current / "reports" / period))
        self._tidy()
        return self.path

    # ------------------------------------------------------------------ recovery and the stable links
    def recover(self) -> None:
        """Called under the writer's lock before a run: complete or roll back an interrupted publish, and
        move a warehouse published before the versioned layout into it (hard links: same data)."""
        if not self.current.exists():
            if self.current.is_symlink():  # a dangling `current`: never happens, but do not guess
                raise RunRefused(f"{printable(self.current)} names a missing version: restore the warehouse from a backup")
            legacy = self.path.exists() and not self.path.is_symlink()
            if legacy or (self.path.is_symlink() and self.path.exists()):
                version = secure_dir(self.published_dir / "versions") / f"migrated-{uuid.uuid4().hex[:12]}"
                secure_dir(version)
                try:
                    os.link(self.path, version / self.path.name, follow_symlinks=True)
                except OSError:
                    shutil.copy2(self.path, version / self.path.name)
                if self.reports_link.is_dir() and not self.reports_link.is_symlink():
                    _hardlink_tree(self.reports_link, version / "reports")
                else:
                    secure_dir(version / "reports")
                _link(f"versions/{version.name}", self.current)
        if self.current.exists():
            self._stable_links()
        self._tidy()

    def _stable_links(self) -> None:
        rel = self.published_dir.name
        _link(f"{rel}/current/{self.path.name}", self.path)
        self._link_replacing_folder(self.reports_link, f"{rel}/current/reports")

    def _link_replacing_folder(self, at: Path, target: str) -> None:
        """``at`` becomes a link to ``target``; a real folder there (the layout before versions) is moved
        aside first and removed after."""
        if at.is_dir() and not at.is_symlink():
            aside = at.with_name(f".{at.name}.replaced-{uuid.uuid4().hex[:8]}")
            os.replace(at, aside)
            _link(target, at)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            _link(target, at)

    def _tidy(self) -> None:
        """Remove every version but the current one (a half-built one is a rolled-back publish; readers
        holding an older file open keep their open file), and leftovers of interrupted renames."""
        versions = self.published_dir / "versions"
        keep = os.path.realpath(self.current) if self.current.exists() else None
        if versions.is_dir():
            for v in versions.iterdir():
                if os.path.realpath(v) != keep:
                    shutil.rmtree(v, ignore_errors=True)
        for folder in {self.published_dir, self.path.parent}:
            if folder.is_dir():
                for p in folder.iterdir():
                    if (p.name.endswith(".tmp") and p.is_symlink()) or ".replaced-" in p.name:
                        if p.is_dir() and not p.is_symlink():
                            shutil.rmtree(p, ignore_errors=True)
                        else:
                            p.unlink(missing_ok=True)

    def discard(self, period: str) -> None:
        self.staging_path(period).unlink(missing_ok=True)

    @contextlib.contextmanager
    def read_published(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self.path.exists() and not is_duckdb_file(self.path):
            raise RunRefused(self.damaged())
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            yield con
        finally:
            con.close()
