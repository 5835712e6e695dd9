"""Local time (rules.md revision 2, Clarifications 1 and 2): contact times are America/Chicago wall-clock
times; a contact lasts the *real* time elapsed between them.

* A contact from 1:00 to 3:00 AM lasts 60 minutes on the day clocks spring forward and 180 on the day they
  fall back. A time in the repeated hour of the fall-back night is its first occurrence (daylight time).
* A time inside the spring-forward gap (2:00-2:59 AM, which no correct clock shows) is read on a clock that
  has not yet been moved forward: 2:30 AM is 2:30 standard time = 3:30 AM daylight time (PEP 495 ``fold=0``,
  what ``zoneinfo`` does). Chosen here, unconfirmed by DHS: EVV devices switch on their own, so a gap time
  comes from a paper record or a device that had not switched yet. A contact that thereby ends before it
  begins in real time is rejected at the front end (``FE-VALUE``).
* An end time earlier on the clock than the start ran past midnight (ends the next date); an end equal to
  the start lasts 0 minutes.

The offsets are read from ``zoneinfo`` once per distinct date (a state's month has a few hundred dates and
millions of contacts); the conversion itself is vectorised.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl

ZONE = "America/Chicago"
TZ = ZoneInfo(ZONE)
EPOCH = dt.date(1970, 1, 1)


def _offset(d: dt.date, minute: int) -> int:
    """UTC offset in minutes of wall-clock `minute` on date `d` (fold=0: first occurrence; a gap time
    keeps the offset in force before the change)."""
    off = dt.datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=TZ).utcoffset()
    return int(off.total_seconds() // 60)


def day_offsets(dates) -> pl.DataFrame:
    """Per local date: the offset at midnight (`off0`), the first wall-clock minute with another offset
    (`change`, 1440 when none that day) and the offset from then on (`off1`)."""
    rows = []
    for d in sorted({x for x in dates if x is not None}):
        off0, off_end = _offset(d, 0), _offset(d, 1439)
        change = 1440
        if off_end != off0:
            lo, hi = 0, 1439  # first minute whose offset differs from midnight's
            while lo < hi:
                mid = (lo + hi) // 2
                if _offset(d, mid) != off0:
                    hi = mid
                else:
                    lo = mid + 1
            change = lo
        rows.append((d, off0, change, off_end))
    return pl.DataFrame(rows, schema={"local_date": pl.Date, "off0": pl.Int32, "change": pl.Int32, "off1": pl.Int32},
                        orient="row")


def utc_minutes(frame: pl.DataFrame, date: str, minute: str, alias: str, offsets: pl.DataFrame | None = None) -> pl.Series:
    """Real instants, as minutes since 1970-01-01 00:00 UTC, of the wall-clock times (`date` a pl.Date column,
    `minute` minutes after local midnight). Null where either is null."""
    sub = frame.select(pl.col(date).alias("_d"), pl.col(minute).cast(pl.Int64).alias("_m"))
    if offsets is None:
        offsets = day_offsets(sub["_d"].unique().to_list())
    j = sub.with_row_index("_i").join(offsets, left_on="_d", right_on="local_date", how="left").sort("_i")
    off = pl.when(pl.col("_m") < pl.col("change")).then(pl.col("off0")).otherwise(pl.col("off1")).cast(pl.Int64)
    local = (pl.col("_d") - pl.lit(EPOCH)).dt.total_days().cast(pl.Int64) * 1440 + pl.col("_m")
    return j.select((local - off).alias(alias)).to_series()


def contact_instants(frame: pl.DataFrame, date: str, start: str, end: str) -> pl.DataFrame:
    """(`_start_utc`, `_end_utc`, `_dur`) of contacts: real start and end (minutes since the epoch, UTC) and
    the elapsed real minutes. The end is on the next date when its clock time is before the start's."""
    sub = frame.select(pl.col(date).alias("_d"), pl.col(start).alias("_s"), pl.col(end).alias("_e"))
    sub = sub.with_columns(pl.when(pl.col("_e") < pl.col("_s")).then(pl.col("_d") + pl.duration(days=1))
                           .otherwise(pl.col("_d")).alias("_ed"))
    offsets = day_offsets(sub["_d"].unique().to_list() + sub["_ed"].unique().to_list())
    s = utc_minutes(sub, "_d", "_s", "_start_utc", offsets)
    e = utc_minutes(sub, "_ed", "_e", "_end_utc", offsets)
    return pl.DataFrame([s, e]).with_columns((pl.col("_end_utc") - pl.col("_start_utc")).alias("_dur"))


def as_timestamp(col: str) -> pl.Expr:
    """Minutes since the epoch (UTC) as a naive UTC datetime (the warehouse's real-time axis)."""
    return (pl.col(col).cast(pl.Int64) * 60_000_000).cast(pl.Datetime("us"))
