"""Front-end edits (``FE-*``) as Pandera contracts over the raw string records of each input.

A record that fails any check is rejected (never adjudicated) under the first failing check in
catalog order: FE-PARSE, FE-REQUIRED, FE-FORMAT, FE-CODE, FE-VALUE, FE-ADJUSTMENT (rules.md
Clarification 12); its message lists every problem found, in that order. Checks are vectorised polars
expressions; each Pandera check is *named by its rule id* so ``failure_cases`` routes each row.
Messages name the column, never the value (values may be PHI; the raw record is kept only in
the warehouse's ``rejected_records``).

The record-level half of FE-ADJUSTMENT is here (a void or replacement without ``original_icn``, an
original with one); what needs the claim history (unknown or superseded original, void lines, order of
judgement, a rejected sibling line) is ``claimrecon.ingest``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from contracts import clock
from contracts.rules import FE_ORDER

# Digits are ASCII `[0-9]`, never `\d`: Polars' (and Python's) `\d` also takes '١' and '７', which pass a
# pattern and then fail the cast. Decimals keep at most two places (the warehouse's scale; trailing zeros
# are allowed) so the value that passes is exactly the value stored.
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
TIME_RE = r"^([0-9]{1,2}):([0-9]{2})[ \t]*([AaPp][Mm])?$"
INT_RE = r"^[+-]?[0-9]+$"
DEC_RE = r"^[+-]?[0-9]+(\.[0-9]{1,2}0*)?$"
MONEY_RE = r"^[+-]?[0-9]+(\.[0-9]{1,2})?$"

FORMATS = {
    "pmi": r"^[0-9]{8}$",
    "icn": r"^[0-9A-Z]{13,20}$",
    "icd10": r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$",
    "modifiers": r"^[0-9A-Z]{2}( +[0-9A-Z]{2}){0,3}$",
    "sa_number": r"^[0-9]{10}$",
    "pos": r"^[0-9]{2}$",
    "proc": r"^[0-9A-Z]{5}$",
    "hhmm": r"^([01][0-9]|2[0-3]):[0-5][0-9]$",  # a clock time: 25:61 is not one
    # revision 2, for the X12 835: nine ASCII digits; up to 38 printable ASCII characters without the 835's
    # delimiters (* : ^ ~), not starting or ending with a space
    "tin": r"^[0-9]{9}$",
    "pcn": r"^[!-)+-9;-\]_-}]([ -)+-9;-\]_-}]{0,36}[!-)+-9;-\]_-}])?$",
}


@dataclass(frozen=True)
class F:
    name: str
    type: str = "str"  # str | date | time | int | dec | money
    required: bool = False
    fmt: str | None = None  # key of FORMATS, "provider" (NPI/UMPI) or "enum"
    values: tuple[str, ...] = ()
    lo: int | None = None
    hi: int | None = None
    multi: bool = False  # space-separated list of enum values
    digits: int | None = None  # whole digits the warehouse column holds (default: INTEGER 9, DECIMAL(12,2) 10)


WAIVERS = ("BI", "CAC", "CADI", "DD", "EW", "AC", "ECS")
ACTIVITIES = ("check_in", "consultation", "support", "training", "supervision", "adl_support", "housing_search",
              "social", "case_preparation", "provider_contact", "phone_contact", "mmis_entry", "assessment",
              "reassessment", "support_plan", "monitoring", "referral", "case_plan")
LICENSES = ("245D_BASIC", "245D_INTENSIVE", "144A_HCBS", "SENIOR_COMPANION", "245D_EXCLUDED")
FACILITY_TYPES = ("hospital", "nursing_facility", "icf_dd")
LIVING = ("own_home", "family_home", "licensed_foster_family", "community_residential", "family_residential",
          "customized_living")

SPECS: dict[str, list[F]] = {
    "claims": [
        F("icn", required=True, fmt="icn"),
        F("line_no", "int", True, lo=1, hi=99),
        F("adjustment_ind", required=True, fmt="enum", values=("0", "1", "4")),
        F("original_icn", fmt="icn"),
        F("received_date", "date", True),
        F("billing_provider_id", required=True, fmt="provider"),
        F("recipient_id", required=True, fmt="pmi"),
        F("procedure_code", required=True, fmt="proc"),
        F("modifiers", fmt="modifiers"),
        F("service_date", "date", True),
        F("units", "dec", True),
        F("billed_amount", "money", True),
        F("place_of_service", fmt="pos"),
        F("diagnosis_code", required=True, fmt="icd10"),
        F("patient_control_number", fmt="pcn"),
    ],
    "authorizations": [
        F("sa_number", required=True, fmt="sa_number"),
        F("line_no", "int", True, lo=1, hi=99),
        F("sa_status", required=True, fmt="enum", values=("A", "S", "D", "T")),
        F("line_status", required=True, fmt="enum", values=("A", "S", "D")),
        F("recipient_id", required=True, fmt="pmi"),
        F("provider_id", required=True, fmt="provider"),
        F("procedure_code", required=True, fmt="proc"),
        F("modifiers", fmt="modifiers"),
        F("start_date", "date", True),
        F("end_date", "date", True),
        F("authorized_units", "dec", True),
        F("unit_rate", "money", True),
        F("waiver_program", required=True, fmt="enum", values=WAIVERS + ("TANF",)),  # TANF: TCM_OR (Clarification 10)
        F("remote_exception_units", "dec"),
        F("case_manager_id"),
    ],
    "service_logs": [
        F("log_id", required=True),
        F("provider_id", required=True, fmt="provider"),
        F("staff_id", required=True),
        F("recipient_id", required=True, fmt="pmi"),
        F("procedure_code", required=True, fmt="proc"),
        F("modifiers", fmt="modifiers"),
        F("service_date", "date", True),
        F("start_time", "time", True),
        F("end_time", "time", True),
        F("minutes", "int"),
        F("delivery_mode", required=True, fmt="enum", values=("in_person", "remote")),
        F("contact_method", required=True, fmt="enum",
          values=("in_person", "telephone", "video", "secure_message", "voicemail", "unanswered_message", "sensor")),
        F("two_way", fmt="enum", values=("Y", "N")),
        F("activity", required=True, fmt="enum", values=ACTIVITIES),
        F("staff_location", fmt="enum", values=("office", "community", "home")),
        F("ratio", fmt="enum", values=("1:1", "1:2")),
        F("tcm_flag", fmt="enum", values=("Y", "N")),
        F("narrative"),
    ],
    "recipients": [
        F("recipient_id", required=True, fmt="pmi"),
        F("birth_date", "date", True),
        F("waiver_program", required=True, fmt="enum", values=WAIVERS + ("TANF",)),
        F("span_start", "date", True),
        F("span_end", "date"),
        F("living_arrangement", required=True, fmt="enum", values=LIVING),
        F("sleep_start", fmt="hhmm"),
        F("sleep_end", fmt="hhmm"),
        F("death_date", "date"),  # revision 2, optional (GEN-DECEASED)
    ],
    "providers": [
        F("provider_id", required=True, fmt="provider"),
        F("name", required=True),
        F("enrollment_start", "date", True),
        F("enrollment_end", "date"),
        F("licenses", fmt="enum", values=LICENSES, multi=True),
        F("case_management_agency", required=True, fmt="enum", values=("Y", "N")),
        F("tin", fmt="tin"),
    ],
    "staff": [
        F("staff_id", required=True),
        F("provider_id", required=True, fmt="provider"),
        F("role", required=True, fmt="enum", values=("case_manager", "case_management_aide", "direct_support")),
        F("hire_date", "date", True),
        F("end_date", "date"),
        F("background_study_date", "date"),
        F("high_school_graduate", fmt="enum", values=("Y", "N")),
        F("qualifying_experience_months", "int"),
        F("postsecondary_years", "dec", digits=4),  # DECIMAL(6,2)
        F("supervisor_staff_id"),
        F("training_hours_12m", "dec", digits=6),  # DECIMAL(8,2)
    ],
    "facility_stays": [  # revision 2 (GEN-INPATIENT)
        F("recipient_id", required=True, fmt="pmi"),
        F("facility_type", required=True, fmt="enum", values=FACILITY_TYPES),
        F("admit_date", "date", True),
        F("discharge_date", "date"),
    ],
}

# The columns that name a record uniquely within one load (a repeat is FE-VALUE).
KEYS = {
    "claims": ("icn", "line_no"),
    "authorizations": ("sa_number", "line_no"),
    "service_logs": ("provider_id", "log_id"),
    "providers": ("provider_id",),
    "staff": ("staff_id",),
    "recipients": ("recipient_id", "span_start"),
    "facility_stays": ("recipient_id", "facility_type", "admit_date"),
}


def columns(kind: str) -> list[str]:
    return [f.name for f in SPECS[kind]]


# ---------------------------------------------------------------- vectorised building blocks

def parsed_date(col: str) -> pl.Expr:
    c = pl.col(col)
    return pl.when(c.str.contains(DATE_RE)).then(c.str.to_date("%Y-%m-%d", strict=False)).otherwise(None)


def time_minutes(col: str) -> pl.Expr:
    """Minutes after midnight of `h:mm AM/PM` or `HH:MM`; null when unreadable."""
    c = pl.col(col).str.strip_chars()
    h = c.str.extract(TIME_RE, 1).cast(pl.Int32, strict=False)
    m = c.str.extract(TIME_RE, 2).cast(pl.Int32, strict=False)
    ap = c.str.extract(TIME_RE, 3).str.to_uppercase()
    h24 = (pl.when(ap.is_null()).then(pl.when(h <= 23).then(h))
           .when((h >= 1) & (h <= 12)).then((h % 12) + pl.when(ap == "PM").then(12).otherwise(0)))
    return pl.when((m <= 59) & h24.is_not_null()).then(h24 * 60 + m).otherwise(None)


def normalized_modifiers(col: str = "modifiers") -> pl.Expr:
    """Order does not matter when matching: sort the set, single-space join ('' when none)."""
    return (pl.col(col).fill_null("").str.strip_chars().str.split(" ")
            .list.eval(pl.element().filter(pl.element() != "")).list.sort().list.join(" "))


def _npi_ok(col: str) -> pl.Expr:
    """NPI: 10 digits whose last is the Luhn check digit over '80840' + the first nine."""
    c = pl.col(col)
    total = pl.lit(24)  # the prefix 80840 contributes 24 to the Luhn sum
    for i in range(9):
        d = c.str.slice(i, 1).cast(pl.Int32, strict=False)
        if i % 2 == 0:  # doubled positions counted from the check digit
            dd = d * 2
            total = total + pl.when(dd > 9).then(dd - 9).otherwise(dd)
        else:
            total = total + d
    check = (10 - (total % 10)) % 10
    return c.str.contains(r"^[0-9]{10}$") & (c.str.slice(9, 1).cast(pl.Int32, strict=False) == check)


def provider_id_ok(col: str) -> pl.Expr:
    return pl.col(col).str.contains(r"^A[0-9]{9}$") | _npi_ok(col)


def npi_check_digit(base9: str) -> int:
    """Python twin of `_npi_ok`, used by the sample-data generator and tests."""
    digits = [int(x) for x in "80840" + base9]
    total = 0
    for pos, d in enumerate(reversed(digits)):
        if pos % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10


# ---------------------------------------------------------------- derived columns, once per distinct value

def via_unique(frame: pl.DataFrame, col: str, expr: pl.Expr) -> pl.Series:
    """`expr` (over `col` alone) evaluated once per distinct value and mapped back (nulls stay null):
    times, provider ids and modifier sets repeat millions of times in a state's month but take a few
    thousand values."""
    u = frame.select(pl.col(col).unique().drop_nulls())
    mapped = u.select(expr).to_series()
    return frame.select(pl.col(col).replace_strict(u.to_series(), mapped, default=None,
                                                   return_dtype=mapped.dtype)).to_series()


def mins(col: str) -> pl.Expr:
    """Minutes after midnight of a time field, as `prepare` derived it (`time_minutes`)."""
    return pl.col(f"__min_{col}")


def prepare(kind: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The costly single-field derivations the checks read, computed per distinct value: minutes of each
    time field (`__min_<field>`), whether a provider id is a valid NPI or UMPI (`__id_ok_<field>`) and the
    normalised modifier set (`__mods`). The checks below are written over these columns."""
    cols = []
    for f in SPECS[kind]:
        if f.name not in frame.columns:
            continue
        if f.type == "time":
            cols.append(via_unique(frame, f.name, time_minutes(f.name)).alias(f"__min_{f.name}"))
        if f.fmt == "provider":
            cols.append(via_unique(frame, f.name, provider_id_ok(f.name)).alias(f"__id_ok_{f.name}"))
    if "modifiers" in frame.columns:
        filled = frame.select(pl.col("modifiers").fill_null(""))
        cols.append(via_unique(filled, "modifiers", normalized_modifiers()).alias("__mods"))
    frame = frame.with_columns(cols) if cols else frame
    if kind == "service_logs":  # the real elapsed minutes (Clarification 1), from zoneinfo once per distinct date
        dates = frame.select(via_unique(frame, "service_date", parsed_date("service_date")).alias("_d"),
                             mins("start_time").alias("_s"), mins("end_time").alias("_e"))
        frame = frame.with_columns(clock.contact_instants(dates, "_d", "_s", "_e")["_dur"].alias("__dur"))
    return frame


# ---------------------------------------------------------------- the contracts

@dataclass(frozen=True)
class CheckSpec:
    rule_id: str
    column: str
    detail: str
    ok: pl.Expr  # True where the record passes


def _field_checks(f: F) -> list[CheckSpec]:
    c = pl.col(f.name)
    out: list[CheckSpec] = []
    present = c.is_not_null()
    if f.type == "date":
        out.append(CheckSpec("FE-PARSE", f.name, f"{f.name} is not a valid YYYY-MM-DD date", ~present | parsed_date(f.name).is_not_null()))
    elif f.type == "time":
        out.append(CheckSpec("FE-PARSE", f.name, f"{f.name} is not a valid time", ~present | mins(f.name).is_not_null()))
    elif f.type == "int":
        out.append(CheckSpec("FE-PARSE", f.name, f"{f.name} is not a whole number", ~present | c.str.contains(INT_RE)))
    elif f.type == "dec":
        out.append(CheckSpec("FE-PARSE", f.name, f"{f.name} is not a number with at most two decimal places",
                             ~present | c.str.contains(DEC_RE)))
    elif f.type == "money":
        out.append(CheckSpec("FE-PARSE", f.name, f"{f.name} is not a decimal amount with at most two places", ~present | c.str.contains(MONEY_RE)))
    if f.required:
        out.append(CheckSpec("FE-REQUIRED", f.name, f"{f.name} is required", present))
    if f.fmt == "provider":
        out.append(CheckSpec("FE-FORMAT", f.name, f"{f.name} is not a valid NPI (check digit) or UMPI", ~present | pl.col(f"__id_ok_{f.name}")))
    elif f.fmt == "enum" and f.multi:
        bad = c.fill_null("").str.split(" ").list.eval(
            (pl.element() != "") & ~pl.element().is_in(list(f.values))).list.any()
        out.append(CheckSpec("FE-FORMAT", f.name, f"{f.name} has a value outside {', '.join(f.values)}", ~present | ~bad))
    elif f.fmt == "enum":
        out.append(CheckSpec("FE-FORMAT", f.name, f"{f.name} is not one of {', '.join(f.values)}", ~present | c.is_in(list(f.values))))
    elif f.fmt:
        out.append(CheckSpec("FE-FORMAT", f.name, f"{f.name} is not in the required format", ~present | c.str.contains(FORMATS[f.fmt])))
    if f.type in ("int", "dec", "money"):  # what the warehouse column can hold (INTEGER, DECIMAL(12,2), ...)
        width = f.digits or (9 if f.type == "int" else 10)
        # at most `width` characters before the first point once the sign and leading zeros are dropped: one
        # anchored match (the same as dropping them, splitting at the point and counting, five times faster)
        fits = c.str.contains(rf"^[+-]?0*[^.]{{0,{width}}}(?:\.|$)")
        out.append(CheckSpec("FE-VALUE", f.name, f"{f.name} is too large ({width} digits at most before the point)",
                             ~present | fits.fill_null(True)))
    if f.type == "int" and (f.lo is not None):
        v = c.cast(pl.Int64, strict=False)
        out.append(CheckSpec("FE-FORMAT", f.name, f"{f.name} is outside {f.lo}–{f.hi}", ~present | ((v >= f.lo) & (v <= f.hi))))
    return out


WHOLE_POSITIVE = r"^\+?0*[1-9][0-9]*(\.0*)?$"
NON_NEGATIVE = r"^\+?[0-9]+(\.[0-9]+)?$"


def _value_checks(kind: str) -> list[CheckSpec]:
    c = pl.col
    out: list[CheckSpec] = []
    if kind == "claims":
        out += [
            CheckSpec("FE-VALUE", "units", "units must be a whole number greater than zero (15-minute and daily units)",
                      c("units").is_null() | c("units").str.contains(WHOLE_POSITIVE)),
            CheckSpec("FE-VALUE", "billed_amount", "billed_amount must not be negative",
                      c("billed_amount").is_null() | c("billed_amount").str.contains(NON_NEGATIVE)),
            CheckSpec("FE-VALUE", "service_date", "service_date is after received_date",
                      (parsed_date("service_date") <= parsed_date("received_date")).fill_null(True)),
        ]
    elif kind == "authorizations":
        out += [
            CheckSpec("FE-VALUE", "authorized_units", "authorized_units must be greater than zero",
                      c("authorized_units").is_null() | c("authorized_units").str.contains(r"^\+?[0-9]*[1-9][0-9]*(\.[0-9]+)?$|^\+?[0-9]+\.[0-9]*[1-9][0-9]*$")),
            CheckSpec("FE-VALUE", "unit_rate", "unit_rate must not be negative",
                      c("unit_rate").is_null() | c("unit_rate").str.contains(NON_NEGATIVE)),
            CheckSpec("FE-VALUE", "remote_exception_units", "remote_exception_units must not be negative",
                      c("remote_exception_units").is_null() | c("remote_exception_units").str.contains(NON_NEGATIVE)),
            CheckSpec("FE-VALUE", "end_date", "end_date is before start_date",
                      (parsed_date("end_date") >= parsed_date("start_date")).fill_null(True)),
        ]
    elif kind == "service_logs":
        # Clarification 1: the real elapsed time (an end equal to the start lasts 0 minutes, Clarification 2)
        dur = pl.col("__dur")
        remote = c("delivery_mode") == "remote"
        out += [
            CheckSpec("FE-VALUE", "end_time", "the contact ends before it begins in real time (a start inside the "
                      "spring-forward gap)", (dur >= 0).fill_null(True)),
            CheckSpec("FE-VALUE", "minutes", "minutes disagrees with start_time and end_time by more than one minute",
                      c("minutes").is_null() | ((c("minutes").cast(pl.Int64, strict=False) - dur).abs() <= 1).fill_null(True)),
            # Clarification 15: remote exactly when the contact method is not in person
            CheckSpec("FE-VALUE", "delivery_mode", "delivery_mode disagrees with contact_method (remote exactly when "
                      "the method is not in_person)",
                      (remote == (c("contact_method") != "in_person")).fill_null(True)),
        ]
    elif kind == "recipients":
        out.append(CheckSpec("FE-VALUE", "span_end", "span_end is before span_start",
                             (parsed_date("span_end") >= parsed_date("span_start")).fill_null(True)))
        out.append(CheckSpec("FE-VALUE", "death_date", "death_date is before birth_date",
                             (parsed_date("death_date") >= parsed_date("birth_date")).fill_null(True)))
    elif kind == "facility_stays":
        out.append(CheckSpec("FE-VALUE", "discharge_date", "discharge_date is before admit_date",
                             (parsed_date("discharge_date") >= parsed_date("admit_date")).fill_null(True)))
    elif kind == "providers":
        out.append(CheckSpec("FE-VALUE", "enrollment_end", "enrollment_end is before enrollment_start",
                             (parsed_date("enrollment_end") >= parsed_date("enrollment_start")).fill_null(True)))
    elif kind == "staff":
        out.append(CheckSpec("FE-VALUE", "end_date", "end_date is before hire_date",
                             (parsed_date("end_date") >= parsed_date("hire_date")).fill_null(True)))
        for col in ("qualifying_experience_months", "postsecondary_years", "training_hours_12m"):
            out.append(CheckSpec("FE-VALUE", col, f"{col} must not be negative", c(col).is_null() | ~c(col).str.starts_with("-")))
    key = KEYS[kind]
    # the first of each key passes, every repeat fails (a key seen once is its own first)
    out.append(CheckSpec("FE-VALUE", "+".join(key), f"{' and '.join(key)} repeat an earlier record of this load",
                         pl.struct(list(key)).is_first_distinct()))
    return out


ADJUSTING = ("1", "4")  # adjustment_ind of a void and of a replacement


def _adjustment_checks(kind: str) -> list[CheckSpec]:
    """FE-ADJUSTMENT on one record alone (Clarification 12: a void or replacement without `original_icn`
    is FE-ADJUSTMENT, not FE-REQUIRED)."""
    if kind != "claims":
        return []
    adj, orig = pl.col("adjustment_ind"), pl.col("original_icn")
    return [
        CheckSpec("FE-ADJUSTMENT", "original_icn", "a void or replacement (adjustment_ind 1 or 4) without original_icn",
                  ~adj.is_in(list(ADJUSTING)).fill_null(False) | orig.is_not_null()),
        CheckSpec("FE-ADJUSTMENT", "original_icn", "original_icn is given on an original claim (adjustment_ind 0)",
                  (adj != "0").fill_null(True) | orig.is_null()),
    ]


def check_specs(kind: str, catalog_keys: list[str] | None) -> list[CheckSpec]:
    specs: list[CheckSpec] = []
    for f in SPECS[kind]:
        specs += _field_checks(f)
    if catalog_keys is not None and "procedure_code" in columns(kind):
        # Clarification 10: modifiers are required exactly for the codes the procedure catalog lists modifiers for
        # (a code the catalog also lists without modifiers may come without them).
        with_mods = {k.split("|", 1)[0] for k in catalog_keys if k.split("|", 1)[1]}
        bare = {k.split("|", 1)[0] for k in catalog_keys if not k.split("|", 1)[1]}
        specs.append(CheckSpec("FE-REQUIRED", "modifiers",
                               "modifiers is required for this procedure code (the procedure catalog lists modifiers for it)",
                               ~pl.col("procedure_code").is_in(sorted(with_mods - bare)).fill_null(False)
                               | (pl.col("__mods") != "")))
        key = pl.concat_str([pl.col("procedure_code"), pl.lit("|"), pl.col("__mods")])
        specs.append(CheckSpec("FE-CODE", "procedure_code", "procedure_code and modifiers are not in the procedure catalog",
                               pl.col("procedure_code").is_null() | key.is_in(catalog_keys)))
    specs += _value_checks(kind)
    specs += _adjustment_checks(kind)
    order = {r: i for i, r in enumerate(FE_ORDER)}
    return sorted(specs, key=lambda s: order[s.rule_id])  # stable: field order kept within a rule


def contract(kind: str, catalog_keys: list[str] | None = None) -> tuple[pa.DataFrameSchema, list[CheckSpec]]:
    """The Pandera contract for one record kind: one data check per (rule, column), named by rule id."""
    specs = check_specs(kind, catalog_keys)
    checks = [pa.Check(lambda d, e=s.ok: d.lazyframe.select(e.fill_null(False)), name=s.rule_id) for s in specs]
    schema = pa.DataFrameSchema(
        columns={name: pa.Column(pl.Utf8, nullable=True) for name in columns(kind)},
        checks=checks, name=f"front_end_{kind}", strict=False, coerce=False,
    )
    return schema, specs


def problems_message(rules: list[str], details: list[str]) -> str:
    """Every problem of one record, in catalog order: the first rule's problems as they are, the others
    prefixed with their rule id (Clarification 12: the message lists every problem found)."""
    first = rules[0]
    return "; ".join(d if r == first else f"{r}: {d}" for r, d in zip(rules, details))


def validate(kind: str, frame: pl.DataFrame, catalog_keys: list[str] | None = None) -> pl.DataFrame:
    """Run the contract. Returns one row per failing record: (_idx, rule_id, message): the rule of the
    first failing check in catalog order, and a message listing every failing check."""
    schema, specs = contract(kind, catalog_keys)
    empty = pl.DataFrame(schema={"_idx": pl.Int64, "rule_id": pl.Utf8, "message": pl.Utf8})
    if frame.height == 0:
        return empty
    try:
        schema.validate(prepare(kind, frame.select(columns(kind))), lazy=True)
        return empty
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
    fc = fc.filter(pl.col("index").is_not_null() & pl.col("check_number").is_not_null())
    if fc.height == 0:
        return empty
    lookup = pl.DataFrame({"check_number": list(range(len(specs))),
                           "rule_id": [s.rule_id for s in specs], "message": [s.detail for s in specs]},
                          schema={"check_number": pl.Int32, "rule_id": pl.Utf8, "message": pl.Utf8})
    hits = (fc.select(pl.col("index").cast(pl.Int64).alias("_idx"), pl.col("check_number").cast(pl.Int32)).unique()
            .join(lookup, on="check_number").sort("_idx", "check_number"))
    first = hits.group_by("_idx", maintain_order=True).agg(
        pl.col("rule_id").first(),
        pl.when(pl.col("rule_id") == pl.col("rule_id").first()).then(pl.col("message"))
          .otherwise(pl.col("rule_id") + ": " + pl.col("message")).str.join("; ").alias("message"))
    return first.select("_idx", "rule_id", "message")
