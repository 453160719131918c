"""A registered venue's package, and the optional hooks the shared layers ask it for.

Required: `ingest(connect, settings, name, start, end, log) -> VenueResult`. Optional:
`check_settings(settings)` (the venue's own LIQMAP_<VENUE>_* settings, checked before a run
starts: ConfigError naming the bad one), `planned_fetches(name, start, end_exclusive) -> int`
(files or pages a window fetches, for progress; default one per day) and
`unpublished(settings, day) -> list[str]` (what the venue
has not published for `day` yet, for the schedule and sensor; default nothing: a REST venue
serves a finished day at once) and `sampler(settings) -> async (stop) -> None` (what `liqmap
collect` runs beside the liquidation streams for a venue that keeps no history of a series,
e.g. Hyperliquid's open interest, until `stop` is set) and `prefetch(settings, name, start,
end)` (a REST venue's days fetched by a child process while the venues before it load:
transforms.raw.fetch_ahead; RestVenue.prefetch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from importlib import import_module
from types import ModuleType

from transforms.config import Settings
from transforms.venues import venue


def venue_package(name: str) -> ModuleType:
    """The package of a registered venue (transforms/raw/venues/<name>/)."""
    return import_module(venue(name).package)


def planned_fetches(name: str, dataset: str, start: date, end_exclusive: date) -> int:
    """Files or day pages the venue fetches for `dataset` over [start, end_exclusive)."""
    hook = getattr(venue_package(name), "planned_fetches", None)
    if hook is not None:
        return int(hook(dataset, start, end_exclusive))
    return max((end_exclusive - start).days, 0)


def unpublished(name: str, settings: Settings, day: date) -> list[str]:
    """What the venue has not published for `day` yet (empty: ready to build)."""
    hook = getattr(venue_package(name), "unpublished", None)
    return list(hook(settings, day)) if hook is not None else []


def check_venue_settings(name: str, settings: Settings) -> None:
    """The venue's own settings, checked at the door (ConfigError naming the bad one)."""
    hook = getattr(venue_package(name), "check_settings", None)
    if hook is not None:
        hook(settings)


def samplers(settings: Settings) -> list[Callable[[asyncio.Event], Awaitable[None]]]:
    """The forward samplers of the configured venues (`liqmap collect` runs them)."""
    hooks = [getattr(venue_package(name), "sampler", None) for name in settings.venues]
    return [hook(settings) for hook in hooks if hook is not None]
