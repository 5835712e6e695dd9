"""Where the project's data files live (the package is installed editable from the repo)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "sql"
REFERENCE_DIR = ROOT / "reference"
PROCEDURE_CODES = REFERENCE_DIR / "procedure_codes.csv"
DOCS_DIR = ROOT / "docs"
REMITTANCE_CODES = REFERENCE_DIR / "remittance_codes.csv"  # the CARC/RARC numbers an 835 may carry (tests check both ways)
