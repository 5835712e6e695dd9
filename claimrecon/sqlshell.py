"""``claimrecon sql``: a read-only SQL shell on the published warehouse.

The DuckDB command-line shell on PyPI (``duckdb-cli``) lags the library: its newest release cannot open
the DuckDB 2.0 files the pipeline writes. This shell uses the library the pipeline itself uses, so it
always reads the file, and it opens the file read-only (a run publishing a new month never disturbs it).

Statements end with ``;`` and may span lines. Dot commands: ``.tables``, ``.describe NAME`` (columns
with their descriptions), ``.mode table|csv``, ``.help``, ``.quit``. With ``-c SQL`` it runs the
statements and exits (non-zero on an error), for scripts and cron.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TextIO

import duckdb

HELP = """Statements end with ';' and may span lines (DuckDB SQL; the warehouse is read-only).
  .tables            published tables and views with their descriptions
  .describe NAME     the columns of a table or view with types and descriptions
  .mode table|csv    boxed tables (default) or CSV with every row (for a spreadsheet)
  .help  .quit
Example queries: sql/examples/. Every table and column: docs/warehouse.md."""

class Shell:
    def __init__(self, path: Path, out: TextIO = sys.stdout, err: TextIO = sys.stderr, mode: str = "table"):
        self.con = duckdb.connect(str(path), read_only=True)
        self.out, self.err, self.mode = out, err, mode

    def close(self) -> None:
        self.con.close()

    # ------------------------------------------------------------------ output
    def _print(self, query: str, params: dict | None = None) -> None:
        """Run one statement and print its result: DuckDB's boxed table, or CSV with every row."""
        if self.mode == "csv":
            cur = self.con.execute(query, params)
            if cur.description:
                w = csv.writer(self.out, lineterminator="\n")
                w.writerow([d[0] for d in cur.description])
                while rows := cur.fetchmany(10_000):
                    w.writerows(rows)
        else:
            rel = self.con.sql(query, params=params)
            if rel is not None:
                self.out.write(str(rel))
        self.out.flush()

    def _dot(self, line: str) -> bool:
        """A dot command; False means quit."""
        cmd, _, arg = line.strip().partition(" ")
        arg = arg.strip().rstrip(";")
        if cmd in (".quit", ".exit", ".q"):
            return False
        if cmd == ".help":
            self.out.write(HELP + "\n")
        elif cmd == ".tables":
            self._print("""
                SELECT name, kind, description FROM (
                    SELECT table_name AS name, 'table' AS kind, coalesce(comment, '') AS description
                    FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary
                    UNION ALL
                    SELECT view_name, 'view', coalesce(comment, '') FROM duckdb_views()
                    WHERE schema_name = 'main' AND NOT internal AND NOT temporary)
                ORDER BY kind, name""")
        elif cmd == ".describe" and arg:
            self._print("""
                SELECT column_name AS "column", data_type AS type, coalesce(comment, '') AS description
                FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = $t ORDER BY column_index""", {"t": arg})
        elif cmd == ".mode" and arg in ("table", "csv"):
            self.mode = arg
        else:
            self.err.write(f"unknown command {line.strip()!r}: .help lists them\n")
        return True

    def run_sql(self, text: str) -> bool:
        """Run every statement of text; False when one failed (the error is printed, the shell goes on)."""
        try:
            statements = self.con.extract_statements(text)
        except duckdb.Error as e:
            self.err.write(f"Error: {e}\n")
            return False
        for stmt in statements:
            try:
                self._print(stmt.query)
            except duckdb.Error as e:
                self.err.write(f"Error: {e}\n")
                return False
        return True

    # ------------------------------------------------------------------ the loop
    def repl(self, stdin: TextIO = sys.stdin) -> int:
        interactive = stdin.isatty()
        if interactive:
            try:
                import readline  # noqa: F401  (line editing and history)
            except ImportError:
                pass
            self.out.write("claimrecon sql: read-only. .help for help, .quit to leave.\n")
        buf: list[str] = []
        failed = False
        while True:
            if interactive:
                try:
                    line = input("claimrecon> " if not buf else "      ...> ")
                except EOFError:
                    self.out.write("\n")
                    break
            else:
                line = stdin.readline()
                if not line:
                    break
            if not buf and line.strip().startswith("."):
                if not self._dot(line):
                    break
                continue
            buf.append(line)
            if line.rstrip().endswith(";"):
                failed |= not self.run_sql("\n".join(buf))
                buf = []
        if "".join(buf).strip():
            failed |= not self.run_sql("\n".join(buf))
        return 1 if failed and not interactive else 0


def main(path: Path, command: str | None = None, mode: str = "table") -> int:
    shell = Shell(path, mode=mode)
    try:
        if command is not None:  # dot commands first (e.g. .mode csv), then the SQL
            lines = command.splitlines()
            for line in (x for x in lines if x.strip().startswith(".")):
                shell._dot(line)
            sql = "\n".join(x for x in lines if not x.strip().startswith("."))
            return 0 if not sql.strip() or shell.run_sql(sql) else 1
        return shell.repl()
    finally:
        shell.close()
