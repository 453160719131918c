"""Cheap "is this day published yet?" probes for schedules and sensors.

Sensors run in the daemon beside runs, so they must never open DuckDB or download data:
a probe is a deadline-bounded GET of the archive's `.CHECKSUM` (or a file test for local sources).
"""

from __future__ import annotations

from datetime import date

from transforms.config import Settings
from transforms.http import HttpError, fetch_bytes, make_client
from transforms.raw.venues.binance.datasets import (
    DAILY_DATASETS,
    archive_relpath,
    periods_for_window,
)

PROBE_TIMEOUT_S = 10.0


def missing_files(settings: Settings, day: date, datasets: tuple[str, ...]) -> list[str]:
    """Relative archive paths for `day` that the source does not have yet (empty = ready)."""
    missing = []
    for symbol in settings.symbols:
        for dataset in datasets:
            for period in periods_for_window(dataset, day, date.fromordinal(day.toordinal() + 1)):
                relpath = archive_relpath(dataset, symbol, period)
                if not _published(settings, relpath, day):
                    missing.append(relpath)
    return missing


def unpublished(settings: Settings, day: date) -> list[str]:
    """The package's hook (transforms.raw.packages): daily files of `day` not published yet.
    Funding exists only as monthly files, published after the month ends: a day never waits
    for it (raw_funding loads it when it lands; staging carries the last settled rate)."""
    return missing_files(settings, day, DAILY_DATASETS)


def _published(settings: Settings, relpath: str, day: date) -> bool:
    if (settings.cache_dir / settings.source / relpath).is_file():
        return True
    if settings.source == "synthetic":
        return settings.start_date <= day <= settings.end_date
    if settings.source == "mirror":
        return settings.mirror_dir is not None and (settings.mirror_dir / relpath).is_file()
    # GET of the tiny .CHECKSUM within an overall deadline (a HEAD could still drip forever).
    try:
        with make_client(PROBE_TIMEOUT_S) as client:
            fetch_bytes(
                client,
                settings.binance_url + relpath + ".CHECKSUM",
                deadline_s=PROBE_TIMEOUT_S,
                max_attempts=1,
                max_bytes=4096,
            )
    except HttpError:
        return False
    return True
