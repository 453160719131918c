"""Evaluate the alert rules on the latest mart rows and record firings in `mart.alerts`.

Each rule looks at each market it applies to (default the per-symbol aggregate 'all') on its
latest day — the nowcast's day in progress when there is one, marked provisional with its
as_of — and the day before. A rule yields *firing* keys (its condition holds) and *holding*
keys (inside the hysteresis band). Per (rule, venue, symbol, level key):

- a firing key whose latest alert is re-armed (or that never fired) fires a new alert, written
  unarmed with one pending delivery per webhook;
- an unarmed key that no longer holds is re-armed, so it can fire again later.

One alert per rule, market and level until it re-arms: a refresh every hour, then the daily
run of the same day, never repeat an alert whose condition simply persists.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from transforms.alerts.rules import AlertsConfig, Rule
from transforms.db import transaction

LATEST_SQL = """
SELECT * FROM mart.daily_metrics
WHERE venue = $venue AND symbol = $symbol AND scenario = 'base'
ORDER BY day DESC LIMIT 2
"""
AS_OF_SQL = """
SELECT as_of FROM mart.provisional_days WHERE venue = $venue AND symbol = $symbol AND day = $day
"""
LATEST_ALERTS_SQL = """
SELECT level_key, alert_id, armed FROM mart.alerts
WHERE rule = $rule AND venue = $venue AND symbol = $symbol
QUALIFY row_number() OVER (PARTITION BY level_key ORDER BY fired_at DESC, alert_id) = 1
"""
REARM_SQL = "UPDATE mart.alerts SET armed = true WHERE alert_id = $id"
INSERT_ALERT_SQL = "INSERT INTO mart.alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_DELIVERY_SQL = "INSERT INTO mart.alert_deliveries VALUES (?, ?, ?, NULL, 0, NULL, ?)"
SIDE_NAME = {"above": "short", "below": "long"}


@dataclass(frozen=True)
class Firing:
    key: str
    title: str
    detail: str
    value: float | None
    threshold: float | None


def _fmt_price(x: float) -> str:
    return f"{x:,.2f}" if x < 1000 else f"{x:,.0f}"


def _usd(x: float) -> str:
    return f"${x / 1e9:.2f}B" if x >= 1e9 else f"${x / 1e6:.1f}M"


def _near_cluster(rule: Rule, symbol: str, cur: dict, _prev: dict | None):
    fire, hold = [], set()
    within, rearm = rule.options["within_pct"], rule.options["rearm_pct"]
    for side in ("above", "below"):
        price, pct = (
            cur.get(f"nearest_cluster_{side}_price"),
            cur.get(f"nearest_cluster_{side}_pct"),
        )
        if price is None or pct is None or pct != pct:
            continue
        dist = abs(pct) * 100
        key = f"{side}:{price:.8g}"
        if dist <= rearm:
            hold.add(key)
        if dist <= within:
            size = cur.get(f"nearest_cluster_{side}_notional") or 0.0
            who = SIDE_NAME[side]
            fire.append(
                Firing(
                    key,
                    f"{symbol}: price {dist:.2f} % from the major {who} cluster at "
                    f"{_fmt_price(price)}",
                    f"Spot {_fmt_price(cur['close_price'])}; {_usd(size)} of modelled {who}s "
                    f"would be liquidated there (rule {rule.name!r}: within {within:g} %).",
                    dist,
                    within,
                )
            )
    return fire, hold


def _cluster_size(rule: Rule, symbol: str, cur: dict, _prev: dict | None):
    fire, hold = [], set()
    low, high = rule.options["rearm_usd"], rule.options["min_usd"]
    for side in ("above", "below"):
        price = cur.get(f"peak_cluster_{side}_price")
        size = cur.get(f"peak_cluster_{side}_notional")
        if price is None or size is None:
            continue
        key = f"{side}:{price:.8g}"
        if size >= low:
            hold.add(key)
        if size >= high:
            who = SIDE_NAME[side]
            fire.append(
                Firing(
                    key,
                    f"{symbol}: {_usd(size)} {who} cluster at {_fmt_price(price)}",
                    f"The largest {who} cluster holds {_usd(size)} of modelled {who}s "
                    f"(rule {rule.name!r}: at least {_usd(high)}); spot "
                    f"{_fmt_price(cur['close_price'])}.",
                    size,
                    high,
                )
            )
    return fire, hold


def _side(row: dict | None, band: float) -> str | None:
    if row is None:
        return None
    longs, shorts = row.get("longs_at_risk_10pct"), row.get("shorts_at_risk_10pct")
    if not longs or not shorts:
        return None
    ratio = shorts / longs
    if ratio >= 1 + band:
        return "shorts"
    if ratio <= 1 / (1 + band):
        return "longs"
    return None


def _imbalance_side(rule: Rule, symbol: str, cur: dict, prev: dict | None):
    band = rule.options["band"]
    now, before = _side(cur, band), _side(prev, band)
    if now is None or before is None or now == before:
        return [], set()
    ratio = cur["shorts_at_risk_10pct"] / cur["longs_at_risk_10pct"]
    shown = max(ratio, 1 / ratio)
    key = f"{cur['day']}:{now}"
    return [
        Firing(
            key,
            f"{symbol}: near-spot imbalance turned to {now} ({shown:.1f}:1 {now})",
            f"Within ±10 % of spot the heavier side was {before} on {prev['day']} and is "
            f"{now} now (rule {rule.name!r}: beyond {1 + band:.2f}:1).",
            ratio,
            1 + band,
        )
    ], {key}


def _funding_state(rule: Rule, symbol: str, cur: dict, prev: dict | None):
    now, before = cur.get("funding_state"), (prev or {}).get("funding_state")
    if not now or not before or now == before:
        return [], set()
    key = f"{cur['day']}:{before}->{now}"
    rate = cur.get("funding_7d_mean")
    return [
        Firing(
            key,
            f"{symbol}: funding {before} -> {now}",
            f"The funding state changed from {before} on {prev['day']} to {now}"
            + (f" (7-day mean {rate * 100:.4f} %)" if rate is not None else "")
            + f" (rule {rule.name!r}).",
            rate,
            None,
        )
    ], {key}


CHECKS = {
    "near_cluster": _near_cluster,
    "cluster_size": _cluster_size,
    "imbalance_side": _imbalance_side,
    "funding_state": _funding_state,
}


def _rows(conn: duckdb.DuckDBPyConnection, venue: str, symbol: str) -> list[dict[str, Any]]:
    cur = conn.execute(LATEST_SQL, {"venue": venue, "symbol": symbol})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _alert_id(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:20]


def evaluate_alerts(
    conn: duckdb.DuckDBPyConnection,
    config: AlertsConfig,
    symbols: tuple[str, ...],
    now: datetime,
) -> list[dict[str, Any]]:
    """Fire and re-arm per the module doc; returns the new alerts (as mart.alerts dicts)."""
    fired: list[dict[str, Any]] = []
    stamp = now.astimezone(UTC).replace(tzinfo=None)
    with transaction(conn):
        for rule in config.rules:
            for symbol in symbols:
                if not rule.applies(symbol):
                    continue
                rows = _rows(conn, rule.venue, symbol)
                if not rows:
                    continue
                cur, prev = rows[0], rows[1] if len(rows) > 1 else None
                as_of_row = conn.execute(
                    AS_OF_SQL, {"venue": rule.venue, "symbol": symbol, "day": cur["day"]}
                ).fetchone()
                provisional = as_of_row is not None
                data_time = (
                    as_of_row[0]
                    if provisional
                    else datetime.combine(cur["day"], datetime.min.time()) + timedelta(days=1)
                )
                firings, hold = CHECKS[rule.kind](rule, symbol, cur, prev)
                params = {"rule": rule.name, "venue": rule.venue, "symbol": symbol}
                latest = {
                    k: (i, armed)
                    for k, i, armed in conn.execute(LATEST_ALERTS_SQL, params).fetchall()
                }
                for key, (alert_id, armed) in latest.items():
                    if not armed and key not in hold:
                        conn.execute(REARM_SQL, {"id": alert_id})
                        latest[key] = (alert_id, True)
                for f in firings:
                    if f.key in latest and not latest[f.key][1]:
                        continue  # fired before and never re-armed: one alert per level
                    alert_id = _alert_id(rule.name, rule.venue, symbol, f.key, data_time)
                    row = {
                        "alert_id": alert_id,
                        "rule": rule.name,
                        "kind": rule.kind,
                        "venue": rule.venue,
                        "symbol": symbol,
                        "level_key": f.key,
                        "fired_at": data_time,
                        "day": cur["day"],
                        "provisional": provisional,
                        "title": f.title,
                        "detail": f.detail,
                        "value": f.value,
                        "threshold": f.threshold,
                        "armed": False,
                    }
                    conn.execute(INSERT_ALERT_SQL, list(row.values()))
                    for hook in config.webhooks:
                        conn.execute(INSERT_DELIVERY_SQL, [alert_id, hook.name, hook.format, stamp])
                    latest[f.key] = (alert_id, False)
                    fired.append(row)
    return fired
