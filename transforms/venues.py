"""The venue registry: every venue liqmap knows, declared once (data only).

A market is one (venue, symbol) pair. Raw, staged and per-venue mart rows carry their venue;
the per-symbol aggregate across venues is stored under `AGGREGATE_VENUE` ('all'). Each venue
is one package under `transforms/raw/venues/<name>/` exposing `ingest(...)` (see
`transforms.raw.ingest`) and, when it has a realized-liquidation stream, a `stream` module.
Reports, marts, orchestration and the collector read this table; nothing else names a venue.
Adding a venue is one entry here plus its package (docs/adding-a-venue.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

#: mart rows summed over the venues of a symbol (DESIGN v2 §3)
AGGREGATE_VENUE = "all"
AGGREGATE_LABEL = "All venues"

#: how much of a venue's realized liquidations its public stream delivers
COMPLETE = "complete"  # every liquidation (Bybit allLiquidation)
THROTTLED = "throttled"  # at most one per symbol per second (Binance forceOrder)
SAMPLED = "sampled"  # an unstated subset (OKX liquidation-orders)

#: how far back a venue's public data reaches (what a backfill can fetch)
ARCHIVE = "archive"  # daily files back to the listing (Binance data.binance.vision)
REST = "rest"  # REST history back to the listing (Bybit v5)
FORWARD = "forward"  # part of the data is kept only a few days: collected daily, going forward


@dataclass(frozen=True)
class Venue:
    """One venue: its name in rows and settings, how it is labelled, where its code lives."""

    name: str
    label: str
    #: the package with `ingest(...)` (and `stream` when `realized` is set)
    package: str
    #: its price is the aggregate's reference (spot, candles, zone) when it is configured
    reference: bool = False
    #: completeness of its realized-liquidation stream; None: no keyless stream is collected
    realized: str | None = None
    #: what history its public data offers (ARCHIVE, REST or FORWARD)
    history: str = REST
    #: the shortest-lived series' reach in days for FORWARD venues (e.g. OKX 5-min OI: 5)
    history_days: int | None = None
    #: its maintenance tiers come from the tier file (transforms/reference/data), because its
    #: tier API needs a key; False: the package snapshots them from a public endpoint daily
    tiers_in_file: bool = False


_ENTRIES = (
    Venue(
        "binance",
        "Binance",
        "transforms.raw.venues.binance",
        reference=True,
        realized=THROTTLED,
        history=ARCHIVE,
        tiers_in_file=True,
    ),
    Venue("bybit", "Bybit", "transforms.raw.venues.bybit", realized=COMPLETE, history=REST),
    # OKX's liquidation stream is a throttled sample: not collected; 5-min OI kept ~5 days
    Venue("okx", "OKX", "transforms.raw.venues.okx", history=FORWARD, history_days=5),
    # no public liquidation stream; OI and mark sampled by `liqmap collect`, 1m candles ~3.5 days
    Venue(
        "hyperliquid",
        "Hyperliquid",
        "transforms.raw.venues.hyperliquid",
        history=FORWARD,
        history_days=3,
    ),
)

_REGISTRY: dict[str, Venue] = {v.name: v for v in _ENTRIES}
#: name -> Venue, in the order venues are ingested and shown (a read-only view)
REGISTRY: MappingProxyType[str, Venue] = MappingProxyType(_REGISTRY)
#: the venues the demo and a default run build (LIQMAP_VENUES overrides)
DEFAULT_VENUES: tuple[str, ...] = ("binance", "bybit")


def venue_names() -> tuple[str, ...]:
    """Every registered venue, in registry order."""
    return tuple(_REGISTRY)


def venue(name: str) -> Venue:
    """The registry entry for `name`; KeyError naming the known venues otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown venue {name!r}: expected one of {', '.join(_REGISTRY)}") from None


def register(entry: Venue) -> None:
    """Add (or replace) a venue: how a test or a plug-in adds one without editing this file."""
    _REGISTRY[entry.name] = entry


def unregister(name: str) -> None:
    """Remove a venue added with `register` (tests clean up with it)."""
    _REGISTRY.pop(name, None)


def reference_venue(venues: tuple[str, ...] | list[str] | None = None) -> str:
    """The venue whose prices the aggregate uses: the registry's reference venue when it is
    among `venues` (default: every registered venue), else the first of `venues`."""
    names = tuple(venues) if venues is not None else venue_names()
    for name in names:
        if name in _REGISTRY and _REGISTRY[name].reference:
            return name
    return names[0]


def file_tier_venues(venues: tuple[str, ...] | list[str]) -> list[str]:
    """Those of `venues` whose tiers must be in the tier file before a run starts."""
    return [v for v in venues if v in _REGISTRY and _REGISTRY[v].tiers_in_file]


def realized_venues() -> tuple[str, ...]:
    """Venues with a collected realized stream, the complete ones first."""
    rank = {COMPLETE: 0, THROTTLED: 1, SAMPLED: 2}
    with_stream = [v for v in _REGISTRY.values() if v.realized is not None]
    return tuple(v.name for v in sorted(with_stream, key=lambda v: rank.get(v.realized, 9)))


def venue_label(name: str) -> str:
    """How a venue is named on the site and in logs ('Binance', 'All venues')."""
    if name == AGGREGATE_VENUE:
        return AGGREGATE_LABEL
    entry = _REGISTRY.get(name)
    return entry.label if entry else name


def market_label(venue: str, symbol: str) -> str:
    """'bybit BTCUSDT': one market in logs and error lines."""
    return f"{venue} {symbol}"
