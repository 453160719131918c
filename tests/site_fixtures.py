"""A small, deterministic warehouse with plausible `mart.*` rows, for the report-site tests.

It writes every mart table the site reads, consistently: one hourly price path drives the
hourly price mart (its closes; the daily close is the day's last hourly close) and the
heatmap (alive long notional below price, short notional above, swept where price has been),
the end-of-day heatmap snapshot *is* the liquidation map, and the base daily metrics are
computed from that map. Scenario rows scale the base figures the way the real scenarios move
them. Depends on nothing in the project except `transforms.db`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from transforms.db import apply_schema
from transforms.model.levels import LEVEL_COLUMNS, key_levels

SYMBOL = "BTCUSDT"
START = date(2026, 2, 5)
BIN_WIDTH = 250.0
LEVERAGE_MIX = {5: 0.10, 10: 0.25, 25: 0.30, 50: 0.20, 100: 0.15}
# the report's layer views: (scenario, layer) -> (longs, shorts) multipliers of the base map
VIEW_SCALE = {
    ("base", "all"): (1.0, 1.0),
    ("base", "high"): (0.35, 0.35),
    ("base", "mid"): (0.3, 0.3),
    ("base", "low"): (0.35, 0.35),
    ("never_close", "all"): (1.15, 3.1),
    ("never_close", "high"): (0.4, 1.1),
    ("never_close", "mid"): (0.35, 0.9),
    ("never_close", "low"): (0.4, 1.1),
}
SCENARIO_SCALE = {  # (longs, shorts) multipliers relative to base
    "base": (1.0, 1.0),
    "never_close": (1.15, 3.1),
    "low_leverage": (0.75, 0.8),
    "high_leverage": (1.3, 1.25),
}

METHODOLOGY_MD = """# Methodology

These figures are **model estimates** of where leveraged positions would be force-closed.

## How the model works

| Step | What |
|---|---|
| 1 | New positions from open-interest increases |
| 2 | Liquidation price per leverage tier |

See the [latest report](../index.html).
"""


def params_hash(scenario: str) -> str:
    return hashlib.sha256(f"fixture-{scenario}".encode()).hexdigest()[:16]


def _price_path(rng: np.random.Generator, hours: int) -> np.ndarray:
    rets = rng.normal(0.0, 0.0035, hours)
    # a slow trend plus one crash and one rally, so zones, moves and sweeps appear
    rets += 0.00004 * np.sin(np.arange(hours) / 500.0)
    if hours > 72:
        crash = hours // 3
        rets[crash : crash + 12] -= 0.006
        rally = (2 * hours) // 3
        rets[rally : rally + 18] += 0.004
    return 70_000.0 * np.exp(np.cumsum(rets))


def _running(arr: np.ndarray, window: int, fn) -> np.ndarray:
    out = np.empty_like(arr)
    for i in range(len(arr)):
        out[i] = fn(arr[max(0, i - window + 1) : i + 1])
    return out


def _heat_grid(price: np.ndarray, oi: np.ndarray, grid_lo: np.ndarray):
    """Alive long/short notional per (hour, bin): H x B arrays."""
    hours = len(price)
    centres = grid_lo + BIN_WIDTH / 2
    ref = pd.Series(price).ewm(span=72).mean().to_numpy()
    low72 = _running(price, 72, np.min)
    high72 = _running(price, 72, np.max)
    longs = np.zeros((hours, len(centres)), dtype=np.float64)
    shorts = np.zeros_like(longs)
    for lev, w in LEVERAGE_MIX.items():
        sig = ref[:, None] * (0.004 + 0.3 / lev / 10)
        mu_l = ref[:, None] * (1 - 0.98 / lev)
        mu_s = ref[:, None] * (1 + 0.98 / lev)
        longs += w * np.exp(-0.5 * ((centres[None, :] - mu_l) / sig) ** 2) / sig
        shorts += w * np.exp(-0.5 * ((centres[None, :] - mu_s) / sig) ** 2) / sig
    # swept: longs whose liquidation price the recent low reached are gone (and vice versa)
    longs[centres[None, :] >= low72[:, None]] = 0.0
    shorts[centres[None, :] <= high72[:, None]] = 0.0
    # keep a band of +/-35 % around price, like a real lookback would
    far = np.abs(centres[None, :] / price[:, None] - 1) > 0.35
    longs[far] = 0.0
    shorts[far] = 0.0
    scale_l = 0.35 * oi[:, None] * BIN_WIDTH
    scale_s = 1.2 * oi[:, None] * BIN_WIDTH
    longs = longs * scale_l
    shorts = shorts * scale_s
    # drop dust so the table stays sparse
    longs[longs < 1e5] = 0.0
    shorts[shorts < 1e5] = 0.0
    return longs, shorts


def _zigzag(price: np.ndarray, threshold: float) -> list[tuple[int, int, int | None]]:
    """Swings (start, end, confirmed_at) beyond `threshold`: `confirmed_at` is the hour whose
    price reversed by the threshold from the extreme; the last swing is still running (None)."""
    pivots = [0]
    confirms: list[int] = []
    direction = 0
    ext = 0
    for i in range(1, len(price)):
        if direction == 0:
            change = price[i] / price[0] - 1
            if abs(change) >= threshold:
                direction, ext = (1 if change > 0 else -1), i
        elif direction == 1:
            if price[i] > price[ext]:
                ext = i
            elif price[i] / price[ext] - 1 <= -threshold:
                pivots.append(ext)
                confirms.append(i)
                direction, ext = -1, i
        else:
            if price[i] < price[ext]:
                ext = i
            elif price[i] / price[ext] - 1 >= threshold:
                pivots.append(ext)
                confirms.append(i)
                direction, ext = 1, i
    pivots.append(len(price) - 1)
    return list(zip(pivots[:-1], pivots[1:], [*confirms, None], strict=True))


def build_fixture_warehouse(
    path: Path | str,
    n_days: int = 10,
    start: date = START,
    symbol: str = SYMBOL,
    seed: int = 7,
) -> list[date]:
    """Create (or replace) `path` as a DuckDB file with `n_days` of mart rows. Returns the days."""
    path = Path(path)
    if path.exists():
        path.unlink()
    rng = np.random.default_rng(seed)
    hours = n_days * 24
    t0 = datetime(start.year, start.month, start.day)
    ts = np.array([t0 + timedelta(hours=h) for h in range(hours)], dtype="datetime64[us]")
    price = _price_path(rng, hours)
    oi = (
        8e9
        * (1 + 0.15 * np.sin(np.arange(hours) / 300.0))
        * np.exp(np.cumsum(rng.normal(0, 0.002, hours)))
    )
    lo = np.floor(price.min() * 0.62 / BIN_WIDTH) * BIN_WIDTH
    hi = np.ceil(price.max() * 1.38 / BIN_WIDTH) * BIN_WIDTH
    grid_lo = np.arange(lo, hi, BIN_WIDTH)
    longs, shorts = _heat_grid(price, oi, grid_lo)
    days = [start + timedelta(days=i) for i in range(n_days)]
    days_list = days
    day_of_hour = np.repeat(np.array(days, dtype="datetime64[D]"), 24)

    base_hash = params_hash("base")
    # the layer views' heatmap: every 4 hours (block start; state at the block's last hour)
    blocks = np.arange(0, hours, 4) + 3
    lh, lb = np.nonzero((longs[blocks] > 0) | (shorts[blocks] > 0))
    layer_heat = pd.concat(
        [
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "day": np.repeat(np.array(days_list, dtype="datetime64[D]"), 6)[lh],
                    "ts": ts[blocks - 3][lh],
                    "scenario": vs,
                    "layer": vl,
                    "price_low": grid_lo[lb],
                    "price_high": grid_lo[lb] + BIN_WIDTH,
                    "long_notional": np.round(longs[blocks][lh, lb] * fl_, 2),
                    "short_notional": np.round(shorts[blocks][lh, lb] * fs_, 2),
                    "params_hash": params_hash(vs),
                }
            )
            for (vs, vl), (fl_, fs_) in VIEW_SCALE.items()
            if (vs, vl) != ("base", "all")
        ],
        ignore_index=True,
    )
    hh, bb = np.nonzero((longs > 0) | (shorts > 0))
    heat = pd.DataFrame(
        {
            "symbol": symbol,
            "day": day_of_hour[hh],
            "ts": ts[hh],
            "price_low": grid_lo[bb],
            "price_high": grid_lo[bb] + BIN_WIDTH,
            "long_notional": np.round(longs[hh, bb], 2),
            "short_notional": np.round(shorts[hh, bb], 2),
            "params_hash": base_hash,
        }
    )

    # hourly bars: close is the path, open the previous close, wicks from a separate stream
    # (so the other tables' random draws do not depend on this one)
    wick = np.abs(np.random.default_rng(seed + 1).normal(0.0, 0.002, (2, hours)))
    opens = np.r_[price[0], price[:-1]]
    price_hourly = pd.DataFrame(
        {
            "symbol": symbol,
            "day": day_of_hour,
            "ts": ts,
            "open": np.round(opens, 2),
            "high": np.round(np.maximum(opens, price) * (1 + wick[0]), 2),
            "low": np.round(np.minimum(opens, price) * (1 - wick[1]), 2),
            "close": price,
            "mark_close": price * 1.0002,
            "oi_value": oi,
        }
    )

    map_frames = []
    layer_map_frames = []
    metric_rows = []
    funding = 0.0001
    funding_hist: list[float] = []
    closes: list[float] = []
    oi_daily: list[float] = []
    state_hist: list[str] = []
    for d_i, day in enumerate(days):
        h = d_i * 24 + 23
        spot = float(price[h])
        closes.append(spot)
        oi_daily.append(float(oi[h]))
        m_long, m_short = longs[h], shorts[h]
        keep = (m_long > 0) | (m_short > 0)
        plo = grid_lo[keep]
        l_n, s_n = m_long[keep], m_short[keep]
        # cumulative from spot: longs summed downward, shorts summed upward
        l_cum = np.cumsum(l_n[::-1])[::-1]
        s_cum = np.cumsum(s_n)
        map_frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "day": day,
                    "price_low": plo,
                    "price_high": plo + BIN_WIDTH,
                    "long_notional": np.round(l_n, 2),
                    "short_notional": np.round(s_n, 2),
                    "long_cum_from_spot": np.round(l_cum, 2),
                    "short_cum_from_spot": np.round(s_cum, 2),
                    "spot_price": spot,
                    "params_hash": base_hash,
                }
            )
        )
        for (vs, vl), (fl_, fs_) in VIEW_SCALE.items():
            near = (plo + BIN_WIDTH > spot * 0.75) & (plo < spot * 1.25)
            layer_map_frames.append(
                pd.DataFrame(
                    {
                        "symbol": symbol,
                        "day": day,
                        "scenario": vs,
                        "layer": vl,
                        "price_low": plo[near],
                        "price_high": plo[near] + BIN_WIDTH,
                        "long_notional": np.round(l_n[near] * fl_, 2),
                        "short_notional": np.round(s_n[near] * fs_, 2),
                        "long_cum_from_spot": np.round(l_cum[near] * fl_, 2),
                        "short_cum_from_spot": np.round(s_cum[near] * fs_, 2),
                        "spot_price": spot,
                        "params_hash": params_hash(vs),
                    }
                )
            )
        levels = key_levels(
            grid_lo, BIN_WIDTH, m_long[None], m_short[None], np.array([spot]), oi[h : h + 1]
        )
        longs_total, shorts_total = float(l_n.sum()), float(s_n.sum())
        ceiling = float(plo[np.argmax(s_cum >= 0.9 * shorts_total)] + BIN_WIDTH)
        floor_ = float(plo[len(l_cum) - 1 - np.argmax(l_cum[::-1] >= 0.9 * longs_total)])
        funding = float(np.clip(funding + rng.normal(0, 0.00006), -0.0003, 0.0009))
        if 2 < d_i < 6:
            funding = 0.0006  # an elevated spell, so a 'reset' follows
        funding_hist.append(funding)
        f7 = float(np.mean(funding_hist[-21:]))
        state = "elevated" if f7 > 0.0003 else "negative" if f7 < 0 else "neutral"
        if state == "neutral" and "elevated" in state_hist[-30:]:
            state = "reset"
        state_hist.append(state)
        zone = closes[-7:]
        zone_lo, zone_hi = min(zone) * 0.995, max(zone) * 1.005
        zone_days = 0
        for c in reversed(closes):
            if not zone_lo <= c <= zone_hi:
                break
            zone_days += 1
        day_ret = price[h] / price[max(0, h - 24)] - 1
        base = {
            "close_price": spot,
            "mark_price": spot * 1.0002,
            "longs_at_risk": longs_total,
            "shorts_at_risk": shorts_total,
            "longs_at_risk_10pct": float(l_n[plo >= spot * 0.9].sum()),
            "shorts_at_risk_10pct": float(s_n[plo + BIN_WIDTH <= spot * 1.1].sum()),
            "longs_at_risk_25pct": float(l_n[plo >= spot * 0.75].sum()),
            "shorts_at_risk_25pct": float(s_n[plo + BIN_WIDTH <= spot * 1.25].sum()),
            "longs_at_risk_5pct": float(l_n[plo >= spot * 0.95].sum()),
            "shorts_at_risk_5pct": float(s_n[plo + BIN_WIDTH <= spot * 1.05].sum()),
            "squeeze_ceiling": ceiling,
            "flush_floor": floor_,
            "peak_cluster_long": float(plo[np.argmax(l_n)] + BIN_WIDTH / 2),
            "peak_cluster_short": float(plo[np.argmax(s_n)] + BIN_WIDTH / 2),
            "peak_cluster_long_notional": float(l_n.max()),
            "peak_cluster_short_notional": float(s_n.max()),
            "liquidated_long_24h": float(max(0.0, -day_ret) * 4e9 + rng.uniform(1e6, 3e7)),
            "liquidated_short_24h": float(max(0.0, day_ret) * 5e9 + rng.uniform(1e6, 3e7)),
            "funding_rate_last": funding,
            "funding_7d_mean": f7,
            "funding_annualized": f7 * 3 * 365,
            "funding_pctile_1y": float(np.mean(np.array(funding_hist) <= f7)),
            "funding_state": state,
            "oi_value": float(oi[h]),
            "oi_change_1d": oi_daily[-1] / oi_daily[max(0, d_i - 1)] - 1 if d_i else None,
            "oi_change_7d": oi_daily[-1] / oi_daily[max(0, d_i - 7)] - 1 if d_i else None,
            "oi_change_30d": oi_daily[-1] / oi_daily[max(0, d_i - 30)] - 1 if d_i else None,
            "zone_low": zone_lo,
            "zone_high": zone_hi,
            "zone_days": zone_days,
            **{c: float(levels[c].iloc[0]) for c in LEVEL_COLUMNS},
            "major_cluster_min": float(levels["major_cluster_min"].iloc[0]),
            "nearest_cluster_above_move": "near" if d_i else "new",
            "nearest_cluster_below_move": "near" if d_i else "new",
            "history_days": d_i + 1,
        }
        for scenario, (fl, fs) in SCENARIO_SCALE.items():
            row = dict(base, symbol=symbol, day=day, scenario=scenario)
            for window in ("", "_5pct", "_10pct", "_25pct"):
                row[f"longs_at_risk{window}"] = base[f"longs_at_risk{window}"] * fl
                row[f"shorts_at_risk{window}"] = base[f"shorts_at_risk{window}"] * fs
            row["peak_cluster_long_notional"] = base["peak_cluster_long_notional"] * fl
            row["peak_cluster_short_notional"] = base["peak_cluster_short_notional"] * fs
            row["squeeze_ceiling"] = base["squeeze_ceiling"] * (1 + 0.03 * (fs - 1))
            row["flush_floor"] = base["flush_floor"] * (1 - 0.03 * (fl - 1))
            row["shorts_per_long"] = row["shorts_at_risk"] / row["longs_at_risk"]
            row["log_imbalance"] = float(np.log(row["shorts_per_long"]))
            for window in ("5pct", "10pct"):
                s_n_w, l_n_w = row[f"shorts_at_risk_{window}"], row[f"longs_at_risk_{window}"]
                row[f"shorts_per_long_{window}"] = (
                    s_n_w / l_n_w if s_n_w > 0 and l_n_w > 0 else None
                )
            row["params_hash"] = params_hash(scenario)
            metric_rows.append(row)

    moves = []
    day_idx = (np.arange(hours) // 24).astype(int)

    def move_row(a: int, b: int, day: date, confirmed_at: int | None) -> dict:
        pct = float(price[b] / price[a] - 1)
        move_oi = float(oi[a : b + 1].mean())
        return {
            "symbol": symbol,
            "day": day,
            "start_ts": ts[a],
            "end_ts": ts[b],
            "direction": "up" if pct > 0 else "down",
            "from_price": float(price[a]),
            "to_price": float(price[b]),
            "pct_change": pct,
            "long_liquidated": move_oi * (max(0.0, -pct) * 0.9 + 0.002),
            "short_liquidated": move_oi * (max(0.0, pct) * 1.1 + 0.002),
            "oi_change": float(oi[b] - oi[a]),
            "confirmed": confirmed_at is not None,
            "confirmed_ts": None if confirmed_at is None else ts[confirmed_at],
            "params_hash": base_hash,
        }

    swings = _zigzag(price, 0.04)
    for a, b, c in swings[:-1]:  # completed swings, filed under the day they were confirmed
        moves.append(move_row(a, b, days[day_idx[c]], c))
    a, b, _ = swings[-1]  # as after a range build: only the latest day's running swing
    if b > a:
        moves.append(move_row(a, b, days[-1], None))

    params = []
    for scenario in SCENARIO_SCALE:
        mix = dict(LEVERAGE_MIX)
        if scenario == "low_leverage":
            mix = {5: 0.3, 10: 0.35, 25: 0.2, 50: 0.1, 100: 0.05}
        elif scenario == "high_leverage":
            mix = {5: 0.05, 10: 0.15, 25: 0.3, 50: 0.25, 100: 0.25}
        params.append(
            {
                "params_hash": params_hash(scenario),
                "scenario": scenario,
                "params_json": json.dumps(
                    {
                        "leverage_mix": {f"{k}x": v for k, v in mix.items()},
                        "split": "taker",
                        "closing": "never" if scenario == "never_close" else "pro_rata_total_oi",
                        "lookback_days": 365,
                        "bucket": "1h",
                        "bin_width_usd": BIN_WIDTH,
                    },
                    sort_keys=True,
                ),
                "recorded_at": datetime(2026, 1, 1),
            }
        )

    conn = duckdb.connect(str(path))
    try:
        apply_schema(conn)
        for table, frame in (
            ("mart.liq_heatmap", heat),
            ("mart.liq_map", pd.concat(map_frames, ignore_index=True)),
            ("mart.liq_layer_map", pd.concat(layer_map_frames, ignore_index=True)),
            ("mart.liq_layer_heatmap", layer_heat),
            ("mart.daily_metrics", pd.DataFrame(metric_rows)),
            ("mart.moves", pd.DataFrame(moves)),
            ("mart.price_hourly", price_hourly),
            ("mart.model_params", pd.DataFrame(params)),
        ):
            conn.register("frame", frame)
            conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
            conn.unregister("frame")
        add_aggregate(conn)
    finally:
        conn.close()
    return days


DAY_MARTS = (
    "liq_heatmap",
    "liq_map",
    "liq_layer_map",
    "liq_layer_heatmap",
    "daily_metrics",
    "moves",
    "price_hourly",
)


def add_venue(db: Path, venue: str, share: float) -> None:
    """A second venue: every Binance row copied under `venue`, notional scaled by `share`."""
    conn = duckdb.connect(str(db))
    try:
        for table in DAY_MARTS:
            cols = [r[0] for r in conn.execute(f"DESCRIBE mart.{table}").fetchall()]
            scaled = [c for c in cols if c.endswith("notional") or c.endswith("_at_risk")]
            repl = ", ".join([f"'{venue}' AS venue", *(f"{c} * {share} AS {c}" for c in scaled)])
            conn.execute(
                f"INSERT INTO mart.{table} BY NAME SELECT * REPLACE ({repl}) "
                f"FROM mart.{table} WHERE venue = 'binance'"
            )
    finally:
        conn.close()


def add_aggregate(conn: duckdb.DuckDBPyConnection, venue: str = "binance") -> None:
    """The per-symbol aggregate ('all') of a warehouse with one venue: a copy of its rows,
    as the pipeline writes it when one venue is configured (the site reads 'all')."""
    conn.execute(
        "UPDATE mart.daily_metrics SET venues = venue, venues_missing = '' WHERE venue = ?",
        [venue],
    )
    for table in DAY_MARTS:
        conn.execute(
            f"INSERT INTO mart.{table} BY NAME SELECT * REPLACE ('all' AS venue) "
            f"FROM mart.{table} WHERE venue = ?",
            [venue],
        )


def drop_days_after(path: Path | str, last: date) -> None:
    """Delete every mart row after `last`: the warehouse as it was before later days ran."""
    conn = duckdb.connect(str(path))
    try:
        for table in DAY_MARTS:
            conn.execute(f"DELETE FROM mart.{table} WHERE day > ?", [last])
    finally:
        conn.close()


def write_methodology(path: Path) -> Path:
    """A placeholder docs/methodology.md for tests."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(METHODOLOGY_MD)
    return path


GENERATED_AT = datetime(2026, 2, 15, 8, 30)


def site_from_warehouse(
    db: Path | str,
    out: Path,
    symbols: str | list[str] = SYMBOL,
    source: str = "synthetic",
    methodology_md: Path | None = None,
):
    """The whole site of `symbols` built from the warehouse file at `db` (opened read-only, as
    the publish step does); returns build_site's result."""
    from reports.site import build_site  # the code under test, imported lazily

    conn = duckdb.connect(str(db), read_only=True)
    try:
        return build_site(
            conn,
            out,
            symbols,
            None,
            source=source,
            methodology_md=methodology_md,
            generated_at=GENERATED_AT,
        )
    finally:
        conn.close()


def build_fixture_site(
    tmp_dir: Path, n_days: int = 10, source: str = "synthetic", methodology: bool = True
) -> tuple[Path, Path, list[date]]:
    """Warehouse + site under `tmp_dir`: returns (site dir, warehouse path, days)."""
    tmp_dir = Path(tmp_dir)
    db = tmp_dir / "warehouse.duckdb"
    days = build_fixture_warehouse(db, n_days)
    md = write_methodology(tmp_dir / "docs" / "methodology.md") if methodology else None
    out = tmp_dir / "site"
    site_from_warehouse(db, out, source=source, methodology_md=md)
    return out, db, days
