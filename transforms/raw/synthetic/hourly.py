"""The synthetic market as hourly bars in `stg.bars_5m` shape, without the warehouse.

For figures and property tests that need a year of the demo market's model in seconds: OI is
taken as of each hour's close, volumes summed, mark high/low the hour's extremes.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from transforms.raw.synthetic.market import simulate_market


def hourly_bars(symbol: str, start: date, n_days: int, seed: int = 7) -> pd.DataFrame:
    """`n_days` of the synthetic `symbol` from `start` as hourly bars (funding left out)."""
    m = simulate_market(symbol, start, n_days, seed)
    n = n_days * 24

    def per_hour(x: np.ndarray, fn) -> np.ndarray:  # type: ignore[no-untyped-def]
        return fn(x.reshape(n, -1), axis=1)

    ts = pd.to_datetime(m.minute_open_ms[::60], unit="ms")
    close = m.close[59::60]
    oi = m.oi_base.reshape(n, 12)[:, -1]
    return pd.DataFrame(
        {
            "symbol": symbol,
            "day": ts.normalize(),
            "ts": ts,
            "open": m.open[::60],
            "high": per_hour(m.high, np.max),
            "low": per_hour(m.low, np.min),
            "close": close,
            "volume": per_hour(m.volume, np.sum),
            "quote_volume": per_hour(m.quote_volume, np.sum),
            "taker_buy_quote_volume": per_hour(m.taker_buy_quote_volume, np.sum),
            "mark_high": per_hour(m.mark_high, np.max),
            "mark_low": per_hour(m.mark_low, np.min),
            "mark_close": m.mark_close[59::60],
            "oi_base": oi,
            "oi_value": oi * close,
            "taker_ratio": m.taker_ratio.reshape(n, 12)[:, -1],
            "funding_rate": np.nan,
        }
    )
