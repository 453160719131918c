"""The calibration rule on hand-made mart.realized_daily rows: which days count, ties, n/a."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from transforms.marts.calibration import NO_MODEL, calibration_frame

D0 = date(2026, 1, 1)


def _daily(venue: str, rows: list[tuple]) -> pd.DataFrame:
    """rows: (collected, realized_long, realized_short, model, modelled_long, modelled_short)"""
    return pd.DataFrame(
        [
            {"venue": venue, "symbol": "BTCUSDT", "day": D0 + timedelta(days=i),
             "collected": c, "completeness": "throttled", "realized_long": rl,
             "realized_short": rs, "model": m, "modelled_long": ml, "modelled_short": ms}
            for i, (c, rl, rs, m, ml, ms) in enumerate(rows)
        ]
    )  # fmt: skip


def test_only_complete_modelled_days_count_and_ties_share_ranks():
    frame = calibration_frame(
        _daily(
            "binance",
            [
                ("not collected", None, None, "base", 5.0, 5.0),
                ("complete", 1.0, 3.0, "base", 10.0, 30.0),  # total 4, model 40, shorts both
                ("partial", 9.0, 9.0, "base", 1.0, 1.0),  # excluded, counted
                ("complete", 2.0, 2.0, "base", 50.0, 10.0),  # tie with the first: 4
                ("complete", 6.0, 1.0, "not modelled", None, None),  # no model row: excluded
                ("complete", 5.0, 1.0, "base", 20.0, 30.0),  # 6 vs 50; sides disagree
            ],
        )
    )
    last = frame.iloc[-1]
    realized, modelled = np.array([4.0, 4.0, 6.0]), np.array([40.0, 60.0, 50.0])
    ranks_r, ranks_m = np.array([1.5, 1.5, 3.0]), np.array([1.0, 3.0, 2.0])
    assert (last.days_used, last.days_partial, last.days_not_collected) == (3, 1, 1)
    assert (last.first_day, last.last_day) == (D0 + timedelta(days=1), D0 + timedelta(days=5))
    assert last.modelled_per_realized == pytest.approx(150 / 14)
    assert last.pearson == pytest.approx(np.corrcoef(modelled, realized)[0, 1])
    assert last.spearman == pytest.approx(np.corrcoef(ranks_m, ranks_r)[0, 1])
    assert last.side_agreement == pytest.approx(1 / 3)
    # as of the second day: one day used, too few for correlations
    second = frame.iloc[1]
    assert second.days_used == 1 and pd.isna(second.pearson) and pd.isna(second.spearman)
    assert frame.iloc[0].days_used == 0 and pd.isna(frame.iloc[0].realized_total)


def test_a_venue_without_a_model_gets_realized_only():
    frame = calibration_frame(_daily("bybit", [("complete", 1.0, 2.0, NO_MODEL, None, None)] * 4))
    last = frame.iloc[-1]
    assert last.model == NO_MODEL and last.days_used == 4
    assert last.realized_total == pytest.approx(12.0)
    assert pd.isna([last.modelled_total, last.pearson, last.side_agreement]).all()


def test_no_realized_dollars_gives_no_ratio():
    frame = calibration_frame(_daily("binance", [("complete", 0.0, 0.0, "base", 1.0, 1.0)]))
    assert pd.isna(frame.iloc[0].modelled_per_realized)
    assert frame.iloc[0].side_agreement == pytest.approx(1.0)  # both even: they agree
