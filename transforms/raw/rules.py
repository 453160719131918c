"""Plausibility rules for raw rows, declared once and applied to every venue's rows.

Three kinds, each a named rule with the value it shows and what it expects:

- Row rules (`ROW_RULES`): each row on its own and against this venue's last price at the same
  time: finite and > 0, OHLC order, mark near last, |funding| bounded, OI value near price.
- Across venues and time, per row (`CONTEXT_RULES`): a venue's close within a few % of the
  reference venue's close at the same minute, a bar's open near the previous bar's close.
  They catch a consistent scaling (every price x1000 keeps the OHLC order).
- Per day (`DAY_RULES`, `OI_JUMP_MAX`): the day's bars continuous (open/close swapped in every
  bar passes every row rule), open interest not jumping by an order of magnitude from the
  previous day (OI x1000, base and value both, keeps value / base = price).

A failing day is refused whole: nothing of it is loaded and the message names the rule, the
first offending value and what was expected. The Binance archive loader runs the row rules
file by file with line numbers (transforms.raw.validation) and `screen_days` for the rest;
the Bybit loader runs `screen_days` with everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from transforms.venues import reference_venue


@dataclass(frozen=True)
class RowRule:
    """A plausibility rule every row must pass before its day is loaded.

    `ok` is a SQL predicate over the raw columns (and the context columns `ref_close`: this
    venue's last-price close at the row's time; `venue_close`: the reference venue's close at
    the same minute; `prev_close`: the previous bar's close), NULL counting as failing, so
    finite checks must be explicit (`isfinite`). `shown` is the offending value in messages.
    """

    name: str
    ok: str
    shown: str
    expected: str


@dataclass(frozen=True)
class DayRule:
    """A rule on one day's rows taken together: `ok` is an aggregate SQL predicate."""

    name: str
    ok: str
    shown: str
    expected: str


def _show(**exprs: str) -> str:
    """SQL rendering `name=value ...` for messages (NULL shown as NULL, NaN as nan)."""
    pattern = " ".join(f"{name}={{}}" for name in exprs)
    args = ", ".join(f"coalesce(CAST({e} AS VARCHAR), 'NULL')" for e in exprs.values())
    return f"format('{pattern}', {args})"


_OHLC_SHOWN = _show(open="open", high="high", low="low", close="close")

# Bands, documented in README "Validation at load":
#: open interest value / base must be within this fraction of the 1-minute close at the
#: snapshot time (the OI value is base x mark price; mark and last stay within a few %).
OI_PRICE_BAND = 0.20
#: |mark close / last close - 1| at the same minute (mark follows the index; a last-price
#: wick of more than 10 % within one minute's close has not occurred on BTC/ETH perpetuals).
MARK_LAST_BAND = 0.10
#: |funding rate| cap: Binance USD-M caps BTC/ETH funding well inside +-3 % per interval.
FUNDING_ABS_MAX = 0.03
#: a daily file with fewer rows than this fraction of `rows_per_day` is an incomplete day
MIN_COMPLETE_FRACTION = 0.95
#: |close / reference venue's close - 1| at the same minute: arbitrage keeps USDT perpetuals
#: of two large venues within a few tenths of a percent; 3 % leaves room for a one-venue wick
VENUE_CLOSE_BAND = 0.03
#: |open / previous close - 1| of consecutive 1-minute bars (real BTC 5-minute bars: 99th
#: percentile 0.001 %, largest 0.18 % in 500 days; a bar scaled x1000 is 99.9 % off)
BAR_GAP_MAX = 0.05
#: the day's median of that gap: a real day's is 0 (the next bar opens at the last trade);
#: swapping open and close makes it about two bars' moves (~0.03-0.08 %)
BAR_GAP_MEDIAN_MAX = 0.0001
#: a day's median open interest against the previous loaded day's: within x10 either way
OI_JUMP_MAX = 10.0

PRICES_FINITE = RowRule(
    "prices_finite_positive",
    "isfinite(open) AND isfinite(high) AND isfinite(low) AND isfinite(close) "
    "AND open > 0 AND high > 0 AND low > 0 AND close > 0",
    _OHLC_SHOWN,
    "open, high, low, close finite and > 0",
)
OHLC_ORDER = RowRule(
    "ohlc_order",
    "high >= greatest(open, close) AND least(open, close) >= low",
    _OHLC_SHOWN,
    "high >= max(open, close) >= min(open, close) >= low",
)
MARK_NEAR_LAST = RowRule(
    "mark_near_last",
    f"ref_close IS NULL OR abs(close / ref_close - 1) <= {MARK_LAST_BAND}",
    _show(mark_close="close", last_close="ref_close"),
    f"mark close within +-{MARK_LAST_BAND:.0%} of the last-price close of the same minute",
)
OI_VALID = RowRule(
    "open_interest_valid",
    "isfinite(sum_open_interest) AND isfinite(sum_open_interest_value) "
    "AND sum_open_interest > 0 AND sum_open_interest_value > 0",
    _show(sum_open_interest="sum_open_interest", sum_open_interest_value="sum_open_interest_value"),
    "open interest (base and value) finite and > 0",
)
OI_NEAR_PRICE = RowRule(
    "open_interest_value_near_price",
    "ref_close IS NULL OR "
    f"abs(sum_open_interest_value / sum_open_interest / ref_close - 1) <= {OI_PRICE_BAND}",
    _show(value_per_base="sum_open_interest_value / sum_open_interest", close="ref_close"),
    f"open interest value / base within +-{OI_PRICE_BAND:.0%} of the 1-minute close",
)
FUNDING_BOUNDED = RowRule(
    "funding_rate_bounded",
    f"isfinite(last_funding_rate) AND abs(last_funding_rate) <= {FUNDING_ABS_MAX}",
    _show(last_funding_rate="last_funding_rate"),
    f"funding rate finite and |rate| <= {FUNDING_ABS_MAX}",
)
CLOSE_NEAR_REFERENCE_VENUE = RowRule(
    "close_near_reference_venue",
    f"venue_close IS NULL OR abs(close / venue_close - 1) <= {VENUE_CLOSE_BAND}",
    _show(close="close", reference_close="venue_close"),
    f"close within +-{VENUE_CLOSE_BAND:.0%} of the reference venue's close of the same minute",
)
BAR_CONTINUOUS = RowRule(
    "open_near_previous_close",
    f"prev_close IS NULL OR abs(open / prev_close - 1) <= {BAR_GAP_MAX}",
    _show(open="open", previous_close="prev_close"),
    f"open within +-{BAR_GAP_MAX:.0%} of the previous bar's close",
)
BARS_CONTINUOUS_DAY = DayRule(
    "bars_continuous",
    f"coalesce(median(abs(open / prev_close - 1)) <= {BAR_GAP_MEDIAN_MAX}, true)",
    "format('median |open / previous close - 1| = {:.6f}', median(abs(open / prev_close - 1)))",
    f"a day's median gap between a bar's open and the previous close <= {BAR_GAP_MEDIAN_MAX}"
    " (open and close swapped?)",
)

#: dataset -> rules each row passes (every venue)
ROW_RULES: dict[str, tuple[RowRule, ...]] = {
    "klines_1m": (PRICES_FINITE, OHLC_ORDER),
    "mark_klines_1m": (PRICES_FINITE, OHLC_ORDER, MARK_NEAR_LAST),
    "metrics": (OI_VALID, OI_NEAR_PRICE),
    "funding": (FUNDING_BOUNDED,),
}
#: dataset -> rules across venues and consecutive rows (every venue)
CONTEXT_RULES: dict[str, tuple[RowRule, ...]] = {
    "klines_1m": (CLOSE_NEAR_REFERENCE_VENUE, BAR_CONTINUOUS),
}
#: dataset -> rules on a whole day's rows
DAY_RULES: dict[str, tuple[DayRule, ...]] = {"klines_1m": (BARS_CONTINUOUS_DAY,)}
#: datasets whose daily median open interest is compared with the previous day's
OI_JUMP_DATASETS = frozenset({"metrics"})

# The klines a context join reads: the relation's days and the day before ($ref_first, the
# day before its first day; $ref_last, its last day), not the symbol's whole history (the
# metrics join's key is an expression, so no join filter prunes that scan: ~10 ms a call).
_REF_DAYS = "AND day >= $ref_first AND day <= $ref_last"
# Context columns for the relation `r` (columns: day, ts and the raw table's). $venue,
# $symbol and $reference bound; names come from this module only.
_CONTEXT = {
    "klines_1m": (
        "vc.venue_close, lag(r.close) OVER (PARTITION BY r.day ORDER BY r.ts) AS prev_close, "
        "CAST(NULL AS DOUBLE) AS ref_close",
        "LEFT JOIN (SELECT open_time AS venue_time, close AS venue_close FROM raw.klines_1m "
        f"WHERE venue = $reference AND venue <> $venue AND symbol = $symbol {_REF_DAYS}) vc "
        "ON vc.venue_time = r.ts",
    ),
    "mark_klines_1m": (
        "ref.ref_close",
        "LEFT JOIN (SELECT open_time AS ref_time, close AS ref_close FROM raw.klines_1m "
        f"WHERE venue = $venue AND symbol = $symbol {_REF_DAYS}) ref ON ref.ref_time = r.ts",
    ),
    # create_time is the snapshot time: the price then is the close of the minute before
    "metrics": (
        "ref.ref_close",
        "LEFT JOIN (SELECT open_time + INTERVAL 1 MINUTE AS ref_time, close AS ref_close "
        f"FROM raw.klines_1m WHERE venue = $venue AND symbol = $symbol {_REF_DAYS}) ref "
        "ON ref.ref_time = r.ts",
    ),
    "funding": ("CAST(NULL AS DOUBLE) AS ref_close", ""),
}

_OI_TABLE = "raw.metrics_5m"
PREVIOUS_OI_SQL = f"""
SELECT day, median(sum_open_interest) FROM {_OI_TABLE}
WHERE venue = $venue AND symbol = $symbol AND day = (
    SELECT max(day) FROM {_OI_TABLE} WHERE venue = $venue AND symbol = $symbol AND day < $first
      AND NOT list_contains($skip, day))
GROUP BY day
"""


def screen_days(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    venue: str,
    symbol: str,
    relation: str,
    *,
    row_rules: bool = True,
    skip: Sequence[date] = (),
    days: tuple[date, date] | None = None,
) -> dict[date, str]:
    """Days of `relation` (a table or view with `day`, `ts` and the raw table's columns for
    dataset `name`) failing a rule, each with one line: rule, first offending value (by time),
    how many rows, expected. `row_rules=False` skips ROW_RULES (the archive loader runs them
    per file with line numbers). `skip`: days of `name`'s raw table the open-interest rule
    never takes as the previous day (a month-batched load's days not loaded in its run).
    `days`: the first and last day of `relation` when the caller knows them (else queried)."""
    select, join = _CONTEXT[name]
    rules = (ROW_RULES[name] if row_rules else ()) + CONTEXT_RULES.get(name, ())
    day_rules = DAY_RULES.get(name, ())
    bound: dict[str, object] = {"venue": venue, "symbol": symbol, "reference": reference_venue()}
    if "$ref_first" in join:
        if days is None:
            ((first, last),) = conn.execute(f"SELECT min(day), max(day) FROM {relation}").fetchall()
        else:
            first, last = days
        bound |= {"ref_first": first and first - timedelta(days=1), "ref_last": last}
    params = {key: value for key, value in bound.items() if f"${key}" in join}
    context = f"SELECT r.*, {select} FROM {relation} r {join}"
    found: dict[date, str] = {}
    # every rule's failing rows per day and the day rules' verdicts, in one pass
    items = [f"count(*) FILTER (WHERE NOT coalesce({rule.ok}, false))" for rule in rules]
    items += [f"{rule.ok}, {rule.shown}" for rule in day_rules]
    rows = (
        conn.execute(
            f"SELECT day, {', '.join(items)} FROM ({context}) GROUP BY day ORDER BY day", params
        ).fetchall()
        if items
        else []
    )
    for day, *values in rows:
        bad, verdicts = values[: len(rules)], values[len(rules) :]
        failed = [(rule, n) for rule, n in zip(rules, bad, strict=True) if n]
        if failed:
            rule, n = failed[0]
            ts, shown = conn.execute(
                f"SELECT ts, {rule.shown} FROM ({context}) WHERE day = $day "
                f"AND NOT coalesce({rule.ok}, false) ORDER BY ts LIMIT 1",
                {**params, "day": day},
            ).fetchone()
            found[day] = f"{rule.name}: {shown} at {ts} ({n} rows); expected {rule.expected}"
        for i, rule in enumerate(day_rules):
            ok, shown = verdicts[2 * i], verdicts[2 * i + 1]
            if not ok and day not in found:
                found[day] = f"{rule.name}: {shown}; expected {rule.expected}"
    if name in OI_JUMP_DATASETS:
        for day, why in _oi_jumps(conn, venue, symbol, relation, set(found), skip).items():
            found.setdefault(day, why)
    return dict(sorted(found.items()))


def _oi_jumps(
    conn: duckdb.DuckDBPyConnection,
    venue: str,
    symbol: str,
    relation: str,
    refused: set[date],
    skip: Sequence[date] = (),
) -> dict[date, str]:
    """Days whose median open interest is more than OI_JUMP_MAX times the previous accepted
    day's (or less than 1/OI_JUMP_MAX of it). A refused day is never the yardstick, so a bad
    day does not reject the good day after it."""
    medians = conn.execute(
        f"SELECT day, median(sum_open_interest) FROM {relation} GROUP BY day ORDER BY day"
    ).fetchall()
    if not medians:
        return {}
    before = conn.execute(
        PREVIOUS_OI_SQL,
        {"venue": venue, "symbol": symbol, "first": medians[0][0], "skip": list(skip)},
    ).fetchone()
    last_day, last = (before[0], before[1]) if before else (None, None)
    found: dict[date, str] = {}
    for day, median in medians:
        if day in refused or median is None:
            continue
        if last is not None and last > 0 and median > 0:
            ratio = median / last
            if ratio > OI_JUMP_MAX or ratio < 1 / OI_JUMP_MAX:
                found[day] = (
                    f"open_interest_steady: median open interest {median:.6g} is {ratio:.3g}x "
                    f"{last_day}'s {last:.6g}; expected within x{OI_JUMP_MAX:g} of the "
                    "previous day (scaled x1000?)"
                )
                continue
        last_day, last = day, median
    return found
