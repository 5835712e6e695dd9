"""The judging engine: claim-edit failures -> reductions -> pricing -> outcomes and ledger.

Money is integer cents here (exact) and DECIMAL(12,2) in the warehouse; never binary floating point.

Order of work for the lines judged this period (rules.md "How a claim line is judged", revision 2):
1. Full denials that do not depend on other lines: every failing claim edit (and log contract, for lines
   whose contacts are all unbillable) is recorded; the first in precedence is primary and carries the money.
2. Lines in order of judgement draw on what they share: the documentation pool of their match key
   (Clar. 3), an agreement line chosen among the covering ones (Clar. 4), the person's in-person day
   (IHS-DAILY-CAP) and remote-support year (IHS-REMOTE-CAP, Clar. 18). Only units a line is finally PAID
   count for the lines after it (Clar. 5), and so do GEN-DUPLICATE, CM-AIDE-ONE-PROVIDER and
   IHS-DAY-OVERLAP, which read the earlier lines' outcomes. An adjustment of this period takes effect at its
   place in order: the original's units return and it stops counting (Clar. 6).
   Every such fact is about one person, so a person whose lines cannot contend (each pool, agreement line,
   day and remote year has room for every line on it; no candidate duplicate, second aide provider,
   daily/15-minute pair, history on the same day or adjustment) is decided set-based: order cannot change
   anything for them. The few contended people go through the exact ordered pass (`_Sequence`).
3. Pricing (Clar. 13): each reduction carries the billed share of its units, CO-45 the paid units' share
   less the payment; a rounding cent goes to the last reduction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable

import polars as pl

from claimrecon.errors import ClaimreconError
from contracts import claim_edits
from contracts.rules import LOG_ORDER, RANK, REDUCTION_ORDER, RULES, Parameters, auth_none_codes

c = pl.col
RED_COLS = [f"red__{r}" for r in REDUCTION_ORDER]
#: claim edits that read the outcome of earlier lines (Clar. 5): decided in the ordered pass
ORDERED_EDITS = ("GEN-DUPLICATE", "IHS-DAY-OVERLAP", "CM-AIDE-ONE-PROVIDER")
#: what a line's ordered pass fills in (the evidence of its reductions and of the ordered edits)
SEQ_COLS = {"sa_number": pl.Utf8, "sa_line_no": pl.Int32, "rate_cents": pl.Int64, "authorized_units": pl.Int64,
            "remaining_units": pl.Int64, "remaining_units_after": pl.Int64, "pool_units_drawn_before": pl.Int64,
            "units_used_that_day": pl.Int64, "remote_used": pl.Int64, "duplicate_of": pl.Utf8,
            "first_provider": pl.Utf8, "day_overlap": pl.Boolean, "replacement_grace": pl.Boolean,
            **{k: pl.Int64 for k in RED_COLS}}


def in_force(rule_id: str) -> pl.Expr:
    """True where the rule is in force on the line's date of service (the catalog's effective dates)."""
    return RULES[rule_id].in_force_on(c("service_date"))


def in_force_on(rule_id: str, date: dt.date) -> bool:
    """The same test for one date (the ordered pass)."""
    r = RULES[rule_id]
    return (r.effective_from is None or date >= r.effective_from) and (r.effective_to is None or date <= r.effective_to)


def _round_share(billed: pl.Expr, units: pl.Expr, total_units: pl.Expr) -> pl.Expr:
    """Clar. 13: round-half-up(billed * units / total_units) on non-negative integers."""
    return pl.when(total_units > 0).then((2 * billed * units + total_units) // (2 * total_units)).otherwise(0)


#: Judge every line in the exact ordered pass (tests prove the set-based path gives the same rows).
ORDERED_FOR_EVERY_LINE = False
POOL_KEY = ["recipient_id", "billing_provider_id", "procedure_code", "modifiers", "service_date"]
DUP_KEY = POOL_KEY + ["billed_units"]


def judge(ev: pl.DataFrame, p: Parameters, hist_lines: pl.DataFrame | None = None,
          events: pl.DataFrame | None = None, log_ids: Callable[[pl.DataFrame], pl.DataFrame] | None = None
          ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Judge one bucket's lines. `hist_lines`: earlier runs' paid lines on the bucket's person-days and those
    this period's adjustments reverse (sql/claim_evidence.sql); `events`: this period's adjustments
    (icn, original_icn, received_date); `log_ids`: given the match keys (POOL_KEY) of the lines that go to the
    ledger, their documenting contacts' ids (`log_ids`, for the evidence) -- looked up only for those few lines,
    when `ev` has no `log_ids` column. Returns (outcomes, ledger) for the judged lines (row_type 'line')."""
    hist_lines = hist_lines if hist_lines is not None else _empty_hist()
    events = events if events is not None else pl.DataFrame(schema={"icn": pl.Utf8, "original_icn": pl.Utf8,
                                                                    "received_date": pl.Date})
    ev = claim_edits.prepare(ev, p)
    if not ev["ord"].is_sorted():  # the evidence query already returns lines in order of judgement
        ev = ev.sort("ord")
    ev = ev.with_row_index("_idx").with_columns(
        pl.lit(None, dtype=pl.Utf8).alias("duplicate_of"), pl.lit(None, dtype=pl.Utf8).alias("first_provider"),
        pl.lit(False).alias("day_overlap"))
    ev = _denials(ev, p)
    ev = _pool(ev, p)
    ev = _contention(ev, p, hist_lines, events)
    ev = _set_based(ev, p)  # every line; the contended people's lines are then replaced by the ordered pass
    hot = ev.filter(c("_contended"))
    if hot.height:
        hot = _Sequence(p, hist_lines, events).run(hot)
        ev = _replace_rows(ev, hot, [*SEQ_COLS, "denial_rules", "denied_by"])
    return _price(ev, p, log_ids)


def _replace_rows(ev: pl.DataFrame, part: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """`ev` with the values of `cols` taken from `part` on part's rows (`_idx` is the row position in `ev`).
    Column by column, so the wide frame is never copied whole (a bucket is 400,000 lines)."""
    n = ev.height
    at = pl.int_range(n, eager=True, dtype=pl.Int64).scatter(
        part["_idx"].cast(pl.Int64), pl.int_range(n, n + part.height, eager=True, dtype=pl.Int64))
    return ev.with_columns([pl.concat([ev[k], part[k].cast(ev[k].dtype)]).gather(at).alias(k) for k in cols])


def _empty_hist() -> pl.DataFrame:
    return pl.DataFrame(schema={
        "icn": pl.Utf8, "line_no": pl.Int32, "period": pl.Utf8, "received_date": pl.Date, "recipient_id": pl.Utf8,
        "billing_provider_id": pl.Utf8, "procedure_code": pl.Utf8, "modifiers": pl.Utf8, "service_date": pl.Date,
        "billed_units": pl.Int64, "paid_units": pl.Int64, "sa_number": pl.Utf8, "sa_line_no": pl.Int32,
        "is_ihs_in_person": pl.Boolean, "is_daily": pl.Boolean, "is_wt": pl.Boolean, "is_cma": pl.Boolean,
        "is_ihs_remote": pl.Boolean, "remote_year": pl.Int64, "rev_received": pl.Date, "rev_icn": pl.Utf8})


def _denials(ev: pl.DataFrame, p: Parameters) -> pl.DataFrame:
    """Every failing full-denial edit per line (Pandera contract), ranked; the first is `denied_by`."""
    fails = claim_edits.failures(ev, p)
    if "denial_rules" in ev.columns:
        ev = ev.drop("denial_rules", "denied_by")
    if fails.height:  # the contract reports row positions in `ev`
        fails = fails.with_columns(ev["_idx"].gather(fails["_idx"]).alias("_idx"))
    denial = (fails.filter(c("rule_id").is_in(claim_edits.FULL_DENIAL))
              .with_columns(c("rule_id").replace_strict(RANK, return_dtype=pl.Int64).alias("_rank")))
    agg = denial.group_by("_idx").agg(c("rule_id").sort_by("_rank").alias("denial_rules"))
    return ev.join(agg, on="_idx", how="left", maintain_order="left").with_columns(c("denial_rules").list.first().alias("denied_by"))


def _pool(ev: pl.DataFrame, p: Parameters) -> pl.DataFrame:
    """Clar. 3: the documentation pool of the line's match key, computed once from its summed minutes.

    `_U` is the pool's billable units; `_R__<log rule>` the units each log contract removed from it (its
    minutes taken away in the log table's order, each step materialised so expressions stay small), and for
    `_R_aide`, for a CM line, the documented units of the aide contacts behind it (Clar. 9): the shortfall
    beyond the log contracts' units goes to CM-AIDE-AS-CM up to them, the rest to GEN-DOC-UNITS."""
    ev = ev.with_columns(c("raw_minutes").cast(pl.Int64).alias("_min"), c("billable_units").alias("_U"))
    ev = ev.with_columns(claim_edits.units_from_minutes(c("_min"), c("is_daily"), p).alias("_u_prev"))
    for rid in LOG_ORDER:
        ev = ev.with_columns((c("_min") - c(f"removed__{rid}").fill_null(0).cast(pl.Int64)).alias("_min"))
        ev = ev.with_columns(claim_edits.units_from_minutes(c("_min"), c("is_daily"), p).alias("_u_now"))
        ev = ev.with_columns(pl.max_horizontal(c("_u_prev") - c("_u_now"), pl.lit(0)).alias(f"_R__{rid}"),
                             c("_u_now").alias("_u_prev"))
    aide = claim_edits.units_from_minutes(c("aide_minutes"), pl.lit(False), p)
    ev = ev.with_columns(pl.when(c("is_cm")).then(aide).otherwise(0).alias("_R_aide"))
    # what earlier runs' lines on the pool were charged with (their ledger units by log contract): `_H__<rule>`;
    # a CM line's CM-AIDE-AS-CM units beyond the contract's own are the aide units' (`_H_aide`)
    charged = ev.filter(c("hist_charges").list.len() > 0).select("_idx", "hist_charges").explode("hist_charges")
    charged = charged.unnest("hist_charges").group_by("_idx", "rule_id").agg(c("units").sum())
    ev = ev.with_columns([pl.lit(0, dtype=pl.Int64).alias(f"_H__{rid}") for rid in LOG_ORDER])
    if charged.height:
        wide = charged.pivot(on="rule_id", index="_idx", values="units")
        ev = ev.update(wide.rename({r: f"_H__{r}" for r in wide.columns if r != "_idx"}).cast(
            {f"_H__{r}": pl.Int64 for r in wide.columns if r != "_idx"}), on="_idx")
    cma = "CM-AIDE-AS-CM"
    ev = ev.with_columns(pl.max_horizontal(c(f"_H__{cma}") - c(f"_R__{cma}"), pl.lit(0)).alias("_H_aide"),
                         pl.min_horizontal(c(f"_H__{cma}"), c(f"_R__{cma}")).alias(f"_H__{cma}"))
    return ev.drop("_min", "_u_prev", "_u_now")


def _doc_take(b: pl.Expr) -> pl.Expr:
    """Units a line can draw from its pool when no other line of this period draws first."""
    return pl.min_horizontal(b, pl.max_horizontal(c("_U") - c("hist_doc_units"), pl.lit(0)))


def _contention(ev: pl.DataFrame, p: Parameters, hist_lines: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """`_contended`: the person has a line whose result could depend on the order of judgement. Each test is
    a group-by over the lines it concerns, giving the people it finds (cheaper than windows over every line)."""
    live = c("denied_by").is_null()
    ev = ev.with_columns(pl.when(live).then(_doc_take(c("billed_units"))).otherwise(0).alias("_take0"))
    need = sorted(set(DUP_KEY) | {"_take0", "n_sa_cands", "sa_number", "sa_line_no", "hist_auth_units", "authorized_units",
                                   "hist_doc_units", "_U", "is_ihs_in_person", "is_daily", "hist_day_units", "is_ihs_remote",
                                   "remote_year", "hist_remote_units", "remote_cap", "is_cma", "is_wt", "hist_same_day",
                                   "icn", "denied_by", "adjustment_ind", "replacement_grace"})
    narrow = ev.lazy().select(need)
    lv = narrow.filter(live)
    eq = pl.when(c("is_daily")).then(p.daily_unit_equivalent).otherwise(1)
    who = c("recipient_id").first()
    found = [
        lv.filter(c("n_sa_cands") > 1).select("recipient_id"),
        # an agreement line whose lines (alone on it) could want more than it has left
        lv.filter(c("n_sa_cands") == 1).group_by("sa_number", "sa_line_no")
          .agg(who, (c("_take0").sum() + c("hist_auth_units").first() > c("authorized_units").first()).alias("_x")),
        # a pool with two lines or more that could want more than it has
        lv.group_by(POOL_KEY).agg(((pl.len() > 1) & (c("billed_units").sum() + c("hist_doc_units").first()
                                                          > c("_U").first())).alias("_x")),
        lv.filter(c("is_ihs_in_person")).group_by("recipient_id", "service_date")
          .agg(((c("_take0") * eq).sum() + c("hist_day_units").first() > p.daily_cap_units).alias("_x")),
        lv.filter(c("is_ihs_remote")).group_by("recipient_id", "remote_year")
          .agg((c("_take0").sum() + c("hist_remote_units").first() > c("remote_cap").first()).fill_null(True).alias("_x")),
        # the ordered edits: a candidate duplicate, a second aide provider, daily and 15-minute units on a day
        narrow.group_by(DUP_KEY).agg((pl.len() > 1).alias("_x")).select("recipient_id", "_x"),
        narrow.filter(c("is_cma")).group_by("recipient_id", "service_date")
          .agg((c("billing_provider_id").n_unique() > 1).alias("_x")),
        narrow.filter(c("is_wt") & c("is_ihs_in_person")).group_by("recipient_id", "service_date")
          .agg((c("is_daily").n_unique() > 1).alias("_x")),
        # history on the day, or an adjustment of this period reversing one of the person's lines
        narrow.filter(c("hist_same_day") | c("icn").is_in(events["original_icn"].unique())
                      | ((c("adjustment_ind") == "4") & c("replacement_grace").is_null())).select("recipient_id"),
        hist_lines.lazy().filter(c("rev_icn").is_not_null()).select("recipient_id"),
    ]
    found = [f.filter(c("_x")).select("recipient_id") if "_x" in f.collect_schema().names() else f for f in found]
    people = pl.concat(pl.collect_all(found))
    hot = c("recipient_id").is_in(people["recipient_id"].unique()) | pl.lit(ORDERED_FOR_EVERY_LINE)
    return ev.with_columns(hot.alias("_contended"))


def _set_based(ev: pl.DataFrame, p: Parameters) -> pl.DataFrame:
    """Lines of people with nothing to contend for: every line gets its pool's units up to its billed
    units, its first agreement line, and room under every cap; the running sums are only evidence."""
    live = c("denied_by").is_null()
    b = c("billed_units")
    ev = ev.with_columns(pl.when(live).then(c("_take0")).otherwise(0).alias("_paid0"))
    ev = ev.with_columns(pl.when(live).then(b - c("_paid0")).otherwise(0).alias("_short"))
    for rid in LOG_ORDER:  # the shortfall goes first to units the log contracts removed (table order)
        left = pl.max_horizontal(c(f"_R__{rid}") - c(f"_H__{rid}"), pl.lit(0))
        ev = ev.with_columns(pl.min_horizontal(c("_short"), left).alias(f"red__{rid}"))
        ev = ev.with_columns((c("_short") - c(f"red__{rid}")).alias("_short"))
    aide = pl.min_horizontal(c("_short"), pl.max_horizontal(c("_R_aide") - c("_H_aide"), pl.lit(0)))
    ev = ev.with_columns((c("red__CM-AIDE-AS-CM") + aide).alias("red__CM-AIDE-AS-CM"), (c("_short") - aide).alias("_short"))
    evidence = ["remaining_units", "remaining_units_after", "pool_units_drawn_before", "units_used_that_day", "remote_used"]
    ev = ev.with_columns(
        c("_short").alias("red__GEN-DOC-UNITS"),
        *[pl.lit(0, dtype=pl.Int64).alias(f"red__{r}") for r in ("GEN-AUTH-UNITS", "IHS-DAILY-CAP", "IHS-REMOTE-CAP")],
        *[pl.lit(None, dtype=pl.Int64).alias(k) for k in evidence])
    # the running totals are evidence for the ledger only: computed for the people with a line that may go there
    # (denied, reduced, or charged above the agreement rate), on a narrow frame; windows over whole people stay exact
    touch = ~live | (c("_paid0") < b) | (c("billed_cents") > c("_paid0") * c("rate_cents").fill_null(0))
    people = ev.filter(touch & ~c("_contended"))["recipient_id"].unique()
    need = ["_idx", "_paid0", "denied_by", "authorized_units", "hist_auth_units", "sa_number", "sa_line_no",
            "hist_doc_units", "is_ihs_in_person", "is_daily", "hist_day_units", "is_ihs_remote", "remote_year",
            "hist_remote_units", *POOL_KEY]
    sub = ev.select(need).filter(c("recipient_id").is_in(people))
    eq = pl.when(c("is_daily")).then(p.daily_unit_equivalent).otherwise(1)

    def before(x: pl.Expr, *key: str) -> pl.Expr:  # the sum of x over the lines earlier in order on the key
        return x.cum_sum().over(*key) - x

    ip = c("is_ihs_in_person")
    sub = sub.with_columns(
        pl.when(live).then(c("authorized_units") - c("hist_auth_units")
                           - before(c("_paid0"), "sa_number", "sa_line_no")).alias("remaining_units"),
        pl.when(live).then(c("hist_doc_units") + before(c("_paid0"), *POOL_KEY)).alias("pool_units_drawn_before"),
        pl.when(live & ip).then(c("hist_day_units") + before(pl.when(ip).then(c("_paid0") * eq).otherwise(0),
                                                             "recipient_id", "service_date")).alias("units_used_that_day"),
        pl.when(live & c("is_ihs_remote") & c("remote_year").is_not_null()).then(c("hist_remote_units") + before(
            pl.when(c("is_ihs_remote")).then(c("_paid0")).otherwise(0), "recipient_id", "remote_year")).alias("remote_used"),
    ).with_columns((c("remaining_units") - c("_paid0")).alias("remaining_units_after"))
    if sub.height:
        ev = _replace_rows(ev, sub, evidence)
    return ev.drop("_short", "_paid0")


class _Sequence:
    """The exact pass in order of judgement over the contended people's lines (Clar. 3-6, 18).

    Running totals are kept as changes from what earlier runs paid (the evidence's hist_* columns, which
    include the lines this period's adjustments reverse): a line adds its PAID units, an adjustment takes
    its original's units back at its own place in order, wherever they were paid."""

    def __init__(self, p: Parameters, hist_lines: pl.DataFrame, events: pl.DataFrame):
        self.p = p
        self.hist = hist_lines
        self.events = events
        self.pool: dict = defaultdict(int)      # pool key -> units drawn this period (net)
        self.charged: dict = defaultdict(lambda: defaultdict(int))  # pool key -> log rule -> units charged
        self.sa: dict = defaultdict(int)        # (sa_number, line) -> units
        self.day: dict = defaultdict(int)       # (person, date) -> in-person units (daily = 24)
        self.remote: dict = defaultdict(int)    # (person, remote year) -> units
        self.paid: dict = defaultdict(list)     # duplicate key -> entries of lines paid at least in part
        self.aide: dict = defaultdict(list)     # (person, date) -> entries of aide lines paid, in order
        self.wt: dict = defaultdict(list)       # (person, date) -> entries of IHS-with-training lines paid
        self.contrib: dict = defaultdict(list)  # icn -> what its lines added (undone by an adjustment)
        self.original_paid: dict = {}           # adjustment icn -> its original was paid at least in part

    def _register(self, line: dict, paid: int, sa_key, counted: bool, charges: list | None = None) -> None:
        """A line paid `paid` units: add them to the running totals (unless `counted`: an earlier run's line,
        already in the hist_* totals) and remember what to take back if an adjustment reverses its claim."""
        pk = tuple(line[k] for k in POOL_KEY)
        day = (line["recipient_id"], line["service_date"])
        eq = self.p.daily_unit_equivalent if line["is_daily"] else 1
        adds = [(self.pool, pk, paid)] + [(self.charged[pk], rid, n) for rid, n in charges or [] if n]
        if sa_key[0] is not None:
            adds.append((self.sa, sa_key, paid))
        if line["is_ihs_in_person"]:
            adds.append((self.day, day, paid * eq))
        if line["is_ihs_remote"] and line["remote_year"] is not None:
            adds.append((self.remote, (line["recipient_id"], line["remote_year"]), paid))
        if not counted:
            for table, key, n in adds:
                table[key] += n
        entry = {"icn": line["icn"], "provider": line["billing_provider_id"], "daily": line["is_daily"], "active": True,
                 "paid": paid}
        if paid > 0:  # paid at least in part: later lines may duplicate it, follow its aide provider, overlap it
            self.paid[pk + (line["billed_units"],)].append(entry)
            if line["is_cma"]:
                self.aide[day].append(entry)
            if line["is_wt"] and line["is_ihs_in_person"]:
                self.wt[day].append(entry)
        self.contrib[line["icn"]].append((adds, entry))

    def _reverse(self, original_icn: str, adjustment_icn: str) -> None:
        """An adjustment's place in order: its original's lines stop counting. Whether the original was paid at
        least in part is remembered for a replacement's timely-filing grace (Clar. 7)."""
        lines = self.contrib.pop(original_icn, [])
        self.original_paid[adjustment_icn] = any(entry["paid"] > 0 for _, entry in lines)
        for adds, entry in lines:
            for table, key, n in adds:
                table[key] -= n
            entry["active"] = False

    def run(self, hot: pl.DataFrame) -> pl.DataFrame:
        people = set(hot["recipient_id"].unique().to_list())
        for h in self.hist.filter(c("recipient_id").is_in(list(people))).iter_rows(named=True):
            self._register(h, h["paid_units"], (h["sa_number"], h["sa_line_no"]), counted=True)
        items = [((r["received_date"], r["icn"], r["line_no"]), 1, r) for r in hot.iter_rows(named=True)]
        items += [((e["received_date"], e["icn"], 0), 0, e) for e in self.events.iter_rows(named=True)]
        items.sort(key=lambda x: (x[0], x[1]))
        out = []
        for _, kind, r in items:
            if kind == 0:
                self._reverse(r["original_icn"], r["icn"])
            else:
                out.append(self._line(r))
        res = pl.DataFrame(out, schema={"_idx": pl.UInt32, "_seq_denied": pl.Boolean, **SEQ_COLS}, orient="row")
        hot = hot.drop([k for k in SEQ_COLS if k in hot.columns]).join(res, on="_idx", how="left").sort("_idx")
        hot = _denials(hot, self.p)  # the contract again, now with the ordered edits' facts
        if not (hot["denied_by"].is_not_null() == hot["_seq_denied"]).all():
            raise ClaimreconError("the ordered pass and the claim-edit contract disagree on a full denial")
        return hot.drop("_seq_denied")

    def _line(self, r: dict) -> tuple:
        p = self.p
        date, person = r["service_date"], r["recipient_id"]
        day = (person, date)
        pk = tuple(r[k] for k in POOL_KEY)
        # the ordered claim edits (Clar. 5): earlier lines paid at least in part and not reversed
        dup = next((e["icn"] for e in self.paid[pk + (r["billed_units"],)] if e["active"]), None)
        first = next((e["provider"] for e in self.aide[day] if e["active"]), None) if r["is_cma"] else None
        overlap = bool(r["is_wt"] and r["is_ihs_in_person"]
                       and any(e["active"] and e["daily"] != r["is_daily"] for e in self.wt[day]))
        # GEN-TIMELY of a replacement whose original was judged earlier this period (the evidence leaves its
        # grace open): the 6-month grace applies only when the original was paid at least in part (Clar. 7)
        static, grace = list(r["denial_rules"] or []), r["replacement_grace"]
        if r["adjustment_ind"] == "4" and grace is None:
            grace = self.original_paid.get(r["icn"], False)
            if grace and "GEN-TIMELY" in static:
                static.remove("GEN-TIMELY")
        denied = (bool(static)
                  or (dup is not None and in_force_on("GEN-DUPLICATE", date))
                  or (overlap and in_force_on("IHS-DAY-OVERLAP", date))
                  or (first is not None and first != r["billing_provider_id"] and in_force_on("CM-AIDE-ONE-PROVIDER", date)))
        red = dict.fromkeys(REDUCTION_ORDER, 0)
        cands = r["sa_cands"] or []  # listed only when there are two or more (sql/claim_evidence.sql sa_multi)
        if not cands and r["n_sa_cands"]:
            cands = [{k: r[k] for k in ("sa_number", "sa_line_no", "rate_cents", "authorized_units", "hist_auth_units")}]
        chosen = cands[0] if cands else {"sa_number": None, "sa_line_no": None, "rate_cents": None,
                                         "authorized_units": None, "hist_auth_units": 0}
        left = drawn = used_day = used_rem = None
        if not denied:
            b = r["billed_units"]
            # Clar. 3: draw from the pool; the shortfall to log contracts' removed units no earlier line was charged with
            drawn = r["hist_doc_units"] + self.pool[pk]
            u = min(b, max(0, r["_U"] - drawn))
            short = b - u
            charged = self.charged[pk]
            for rid in LOG_ORDER:
                x = min(short, max(0, r[f"_R__{rid}"] - r[f"_H__{rid}"] - charged[rid]))
                red[rid] = x
                short -= x
            x = min(short, max(0, r["_R_aide"] - r["_H_aide"] - charged["aide"]))  # Clar. 9: aide time behind a CM line
            red["CM-AIDE-AS-CM"] += x
            red["GEN-DOC-UNITS"] = short - x
            # Clar. 4: the first covering line with enough units left, else the first with any, else the first
            lefts = [s["authorized_units"] - s["hist_auth_units"] - self.sa[(s["sa_number"], s["sa_line_no"])] for s in cands]
            i = next((k for k, x in enumerate(lefts) if x >= u), next((k for k, x in enumerate(lefts) if x > 0), 0))
            if cands:  # (none: only before GEN-AUTH-NONE's effective date, when nothing is authorized to count)
                chosen, left = cands[i], lefts[i]
            if cands and in_force_on("GEN-AUTH-UNITS", date):
                red["GEN-AUTH-UNITS"] = u - min(u, max(0, left))
                u -= red["GEN-AUTH-UNITS"]
            if r["is_ihs_in_person"]:
                eq = p.daily_unit_equivalent if r["is_daily"] else 1
                used_day = r["hist_day_units"] + self.day[day]
                if in_force_on("IHS-DAILY-CAP", date):  # a daily unit is paid only when 24 units of room remain
                    allowed = min(u, max(0, p.daily_cap_units - used_day) // eq)
                    red["IHS-DAILY-CAP"] = u - allowed
                    u = allowed
            if r["is_ihs_remote"] and r["remote_year"] is not None:
                used_rem = r["hist_remote_units"] + self.remote[(person, r["remote_year"])]
                if in_force_on("IHS-REMOTE-CAP", date):
                    allowed = min(u, max(0, r["remote_cap"] - used_rem))
                    red["IHS-REMOTE-CAP"] = u - allowed
                    u = allowed
            charges = [(rid, red[rid]) for rid in LOG_ORDER] + [("aide", x)]
            self._register(r, u, (chosen["sa_number"], chosen["sa_line_no"]), counted=False, charges=charges)
        return (r["_idx"], denied, chosen["sa_number"], chosen["sa_line_no"], chosen["rate_cents"],
                chosen["authorized_units"], left, None if left is None else left - (r["billed_units"] - sum(red.values())),
                drawn, used_day, used_rem, dup, first, overlap, grace, *[red[k] for k in REDUCTION_ORDER])


def amounts(ev: pl.DataFrame) -> pl.DataFrame:
    """Clar. 13: the billed share of n units is billed x n / billed units, rounded half up to the cent. Each
    reduction carries the share of its units (`amt__<rule>`), CO-45 (`price_cents`) the paid units' share less
    the payment, and the cents rounding leaves go to the last reduction in order, so every line balances.
    Reads billed_units, billed_cents, red__<rule>, rate_cents, denied_by, service_date."""
    B = c("billed_units")
    billed = c("billed_cents")
    denied = c("denied_by").is_not_null()
    ev = ev.with_columns([pl.when(denied).then(0).otherwise(c(k)).fill_null(0).alias(k) for k in RED_COLS])
    ev = ev.with_columns(pl.when(denied).then(0).otherwise(B - pl.sum_horizontal(RED_COLS)).alias("paid_units"))
    ev = ev.with_columns(_round_share(billed, c("paid_units"), B).alias("_share"),
                         *[_round_share(billed, c(f"red__{r}"), B).alias(f"amt__{r}") for r in REDUCTION_ORDER])
    # the rounding remainder, to the last reduction with units (never below zero: what is left moves up)
    ev = ev.with_columns(pl.when(denied).then(0).otherwise(
        billed - c("_share") - pl.sum_horizontal([c(f"amt__{r}") for r in REDUCTION_ORDER])).alias("_rest"))
    for r in reversed(REDUCTION_ORDER):
        a, has = c(f"amt__{r}"), c(f"red__{r}") > 0
        give = pl.when(has & (c("_rest") >= 0)).then(c("_rest")).when(has).then(pl.max_horizontal(c("_rest"), -a)).otherwise(0)
        ev = ev.with_columns(give.alias("_give"))
        ev = ev.with_columns((a + c("_give")).alias(f"amt__{r}"), (c("_rest") - c("_give")).alias("_rest"))
    share = pl.when(denied).then(0).otherwise(c("_share") + c("_rest"))  # a line paid in full: CO-45 takes it
    rate_cap = pl.when(in_force("GEN-PRICE")).then(c("paid_units") * c("rate_cents").fill_null(0)).otherwise(share)
    ev = ev.with_columns(pl.min_horizontal(share, rate_cap).alias("paid_cents"), share.alias("_share"))
    return ev.with_columns((c("_share") - c("paid_cents")).alias("price_cents"))


def _price(ev: pl.DataFrame, p: Parameters, log_ids=None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Amounts (Clar. 13), the outcome and the primary reason of each line; the ledger of the touched ones."""
    B = c("billed_units")
    billed = c("billed_cents")
    denied = c("denied_by").is_not_null()
    ev = amounts(ev)
    first_red = pl.coalesce([pl.when(c(f"red__{r}") > 0).then(pl.lit(r)) for r in REDUCTION_ORDER])
    ev = ev.with_columns(
        pl.when(denied).then(c("denied_by")).when(c("paid_units") < B).then(first_red).otherwise(None).alias("primary_rule_id"),
        pl.when(denied | (c("paid_units") == 0)).then(pl.lit("denied"))
          .when(c("paid_units") < B).then(pl.lit("partial")).otherwise(pl.lit("paid")).alias("outcome"),
    )
    ev = ev.with_columns((billed - c("paid_cents")).alias("adjusted_cents"))
    outcomes = ev.select(
        pl.lit("line").alias("row_type"), "icn", "line_no", "adjustment_ind", "outcome",
        c("billed_units"), c("billed_cents"), c("paid_units"), c("paid_cents"), c("adjusted_cents"),
        "primary_rule_id", "sa_number", "sa_line_no", "recipient_id", "billing_provider_id", "procedure_code",
        "modifiers", "service_key", "service_date", "received_date", "waiver_program",
        pl.lit(None, dtype=pl.Utf8).alias("reverses_icn"), pl.lit(None, dtype=pl.Utf8).alias("reverses_period"),
        "source_file", "source_row")
    return outcomes, _ledger(ev, log_ids)


def _evidence(ev: pl.DataFrame) -> pl.DataFrame:
    """A compact JSON of the facts behind a line's adjustments (no recipient ids, no narratives)."""
    cols = {
        "documented_units": c("documented_units"), "billable_units": c("billable_units"),
        "raw_minutes": c("raw_minutes"), "billable_minutes": c("billable_minutes"), "log_ids": c("log_ids"),
        "sa_number": c("sa_number"), "sa_line_no": c("sa_line_no"), "unit_rate": (c("rate_cents") / 100).cast(pl.Utf8),
        "authorized_units": c("authorized_units"), "duplicate_of": c("duplicate_of"),
        "waiver_program": c("waiver_program"), "age": c("age"), "living_arrangement": c("living_arrangement"),
        "licenses": c("licenses"), "residential_sa": c("residential_sa"), "other_service_sa": c("other_service_sa"),
        "first_provider": c("first_provider"), "filing_limit": c("filing_limit").cast(pl.Utf8),
        "auth_variant": c("auth_variant"),
        # the ordered facts (Clar. 3-5, 18): the agreement line chosen and its units left before and after the
        # line, the pool's billable units and what earlier lines drew from it, the day's and the remote year's use
        "remaining_units": c("remaining_units"), "remaining_units_after": c("remaining_units_after"),
        "sa_candidates": c("n_sa_cands"), "pool_billable_units": c("_U"),
        "pool_units_drawn_before": c("pool_units_drawn_before"), "aide_minutes": c("aide_minutes"),
        "units_used_that_day": c("units_used_that_day"), "remote_year_start": c("remote_year_start").cast(pl.Utf8),
        "remote_cap": c("remote_cap"), "remote_used": c("remote_used"), "day_overlap": c("day_overlap"),
        # revision 2 (GEN-INPATIENT, CM-AGENCY); the date of death is PHI and stays out of the evidence
        "facility_stay": c("facility_stay"), "case_management_agency": c("case_management_agency"),
    }
    return ev.select("_idx", pl.struct(**cols).struct.json_encode().alias("evidence"))


def _ledger(ev: pl.DataFrame, log_ids=None) -> pl.DataFrame:
    """Ledger rows of the lines with adjustments. Only those lines are copied out of the wide frame
    (almost every line is paid in full), and only they get an evidence JSON."""
    red_cols = [f"red__{r}" for r in REDUCTION_ORDER]
    touched = c("denied_by").is_not_null() | pl.any_horizontal([c(k) > 0 for k in red_cols]) | (c("price_cents") > 0)
    ev = ev.filter(touched)
    if "log_ids" not in ev.columns:
        ev = (ev.join(log_ids(ev.select(POOL_KEY).unique()), on=POOL_KEY, how="left")
              if log_ids is not None and ev.height else ev.with_columns(pl.lit(None, dtype=pl.Utf8).alias("log_ids")))
    ev_json = _evidence(ev)
    base = ["_idx", "icn", "line_no", "billed_units", "billed_cents", "auth_variant", "source_file", "source_row"]
    parts = []
    # full denials: primary carries all units and money; every other failing rule is recorded at zero
    d = ev.filter(c("denied_by").is_not_null()).select(*base, "denial_rules").explode("denial_rules")
    if d.height:
        d = d.with_columns(c("denial_rules").alias("rule_id"))
        d = d.with_columns((pl.int_range(pl.len()).over("_idx") == 0).alias("is_primary"))
        d = d.with_columns(pl.when(c("is_primary")).then(c("billed_units")).otherwise(0).alias("units"),
                           pl.when(c("is_primary")).then(c("billed_cents")).otherwise(0).alias("cents"))
        parts.append(d.select("_idx", "icn", "line_no", "rule_id", "units", "cents", "is_primary", "auth_variant", "source_file", "source_row"))
    # reductions and pricing on lines not fully denied
    live = ev.filter(c("denied_by").is_null())
    if live.height:
        red = []
        for i, rid in enumerate(REDUCTION_ORDER):
            red.append(live.filter(c(f"red__{rid}") > 0).select(
                "_idx", "icn", "line_no", pl.lit(rid).alias("rule_id"), c(f"red__{rid}").alias("units"),
                c(f"amt__{rid}").alias("cents"), pl.lit(i).alias("_o"), "auth_variant", "source_file", "source_row"))
        red.append(live.filter(c("price_cents") > 0).select(
            "_idx", "icn", "line_no", pl.lit("GEN-PRICE").alias("rule_id"), pl.lit(0, dtype=pl.Int64).alias("units"),
            c("price_cents").alias("cents"), pl.lit(99).alias("_o"), "auth_variant", "source_file", "source_row"))
        r = pl.concat(red).sort("_idx", "_o")
        r = r.with_columns(((pl.int_range(pl.len()).over("_idx") == 0) & (c("rule_id") != "GEN-PRICE")).alias("is_primary"))
        parts.append(r.select("_idx", "icn", "line_no", "rule_id", "units", "cents", "is_primary", "auth_variant", "source_file", "source_row"))
    if not parts:
        return empty_ledger()
    led = pl.concat(parts).join(ev_json, on="_idx", how="left")
    return attach_catalog(led.with_columns(pl.lit("line").alias("row_type"))).sort("_idx", c("is_primary").not_(), "rule_id").drop("_idx")


def attach_catalog(led: pl.DataFrame) -> pl.DataFrame:
    """Message, group, CARC/RARC and citation from the one rule catalog (GEN-AUTH-NONE by variant)."""
    cat = pl.DataFrame({
        "rule_id": list(RULES), "group_code": [r.group_code for r in RULES.values()],
        "carc": [r.carc for r in RULES.values()], "rarc": [r.rarc for r in RULES.values()],
        "message": [r.message for r in RULES.values()], "citation": [r.citation for r in RULES.values()]})
    led = led.join(cat, on="rule_id", how="left")
    if "auth_variant" in led.columns:
        for variant in ("other_service", "other_provider", "none"):
            g, carc, rarc = auth_none_codes(variant)
            hit = (c("rule_id") == "GEN-AUTH-NONE") & (c("auth_variant") == variant)
            led = led.with_columns(pl.when(hit).then(pl.lit(carc)).otherwise(c("carc")).alias("carc"),
                                   pl.when(hit).then(pl.lit(rarc)).otherwise(c("rarc")).alias("rarc"))
        led = led.drop("auth_variant")
    return led


def empty_ledger() -> pl.DataFrame:
    return pl.DataFrame(schema={"icn": pl.Utf8, "line_no": pl.Int32, "rule_id": pl.Utf8, "units": pl.Int64,
                                "cents": pl.Int64, "is_primary": pl.Boolean, "evidence": pl.Utf8, "row_type": pl.Utf8,
                                "group_code": pl.Utf8, "carc": pl.Utf8, "rarc": pl.Utf8, "message": pl.Utf8,
                                "citation": pl.Utf8, "source_file": pl.Utf8, "source_row": pl.Int64})
