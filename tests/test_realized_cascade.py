"""A short version of benchmarks/collector.py: 2,000 events/s into `liqmap collect`, no loss."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.collector import replay


@pytest.mark.slow
def test_cascade_rate_is_collected_without_loss(tmp_path: Path) -> None:
    result = asyncio.run(replay(rate=2000, seconds=3, bybit_share=0.5, root=tmp_path))
    assert result["sent"] == 6000
    assert result["stored"] == result["sent"]
