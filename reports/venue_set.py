"""Venues on the site: which venues a symbol's aggregate adds up, and each venue's own rows.

The pages show the aggregate (`venue = 'all'`, the sum of the venues' grids) by default. This
module names what it adds up ("All venues: Binance + Bybit"), says when a day's aggregate lacks
a configured venue (`venues_missing`: the aggregate is then smaller, never silently), and
gives each venue's base row of a day for the split cards, with its share of the aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from reports import queries
from reports.loaders import MartData, Record, load_mart_data
from reports.notation import fmt_share, fmt_usd
from transforms.venues import AGGREGATE_VENUE, venue_label, venue_names


def venue_order(venue: str) -> tuple[int, str]:
    """Known venues in their configured order (the reference venue first), others after."""
    known = venue_names()
    return (known.index(venue) if venue in known else len(known), venue)


def split_names(text: str | None) -> list[str]:
    return [v for v in (text or "").split(",") if v]


def joined_labels(venues: list[str] | tuple[str, ...]) -> str:
    """'Binance + Bybit'."""
    return " + ".join(venue_label(v) for v in venues)


@dataclass(frozen=True)
class VenueShare:
    """One venue's base figures on a day, with its share of the aggregate's."""

    venue: str
    label: str
    row: Record | None  # None: the venue has no rows that day
    shorts: str
    shorts_share: str
    longs: str
    longs_share: str
    oi: str
    oi_share: str


@dataclass(frozen=True)
class VenueSet:
    """A symbol's venues with mart rows (configured order) and each one's marts."""

    symbol: str
    venues: tuple[str, ...]
    per_venue: dict[str, MartData]

    @property
    def split(self) -> bool:
        """True when the aggregate adds up more than one venue (the split cards show)."""
        return len(self.venues) > 1

    def not_collected(self, agg: Record) -> list[str]:
        """Configured forward-collected venues not collected that day (before their first
        collected day, or a gap): named, never counted as missing data."""
        return split_names(agg.get("venues_not_collected"))

    def day_venues(self, agg: Record) -> tuple[list[str], list[str]]:
        """(venues in the aggregate row, configured venues missing from it); the venues with
        rows that day when the row predates the `venues` column."""
        present = split_names(agg.get("venues"))
        if not present:
            d = agg.get("day")
            present = [v for v in self.venues if d in self.per_venue[v].metrics] or [*self.venues]
        return present, split_names(agg.get("venues_missing"))

    def label(self, agg: Record) -> str:
        """What the aggregate page adds up: 'All venues: Binance + Bybit', 'Binance' when one
        venue is configured, '... (Bybit missing)' on a day without a configured venue."""
        present, missing = self.day_venues(agg)
        late = self.not_collected(agg)
        if len(present) + len(missing) + len(late) <= 1:
            return f"Venue: {joined_labels(present)}"
        text = f"{venue_label(AGGREGATE_VENUE)}: {joined_labels(present)}"
        notes = [f"{joined_labels(missing)} missing"] if missing else []
        notes += [f"{joined_labels(late)} not collected"] if late else []
        return text + (f" ({'; '.join(notes)})" if notes else "")

    def missing_notice(self, agg: Record) -> str | None:
        """The notice beside the headline on a day whose aggregate lacks a configured venue."""
        present, missing = self.day_venues(agg)
        late = self.not_collected(agg)
        if not missing and not late:
            return None
        parts = []
        if missing:
            verb = "has" if len(missing) == 1 else "have"
            parts.append(f"{joined_labels(missing)} {verb} no data for this day")
        if late:
            verb = "was" if len(late) == 1 else "were"
            parts.append(
                f"{joined_labels(late)} {verb} not collected this day (its history is kept "
                "only a few days, so liqmap collects it daily from its first run on)"
            )
        return (
            f"{'; '.join(parts)}, so every figure on this page adds up "
            f"{joined_labels(present)} only and is smaller than a total over all venues "
            "would be."
        )

    def shares(self, d: date, agg: Record) -> list[VenueShare]:
        """Each venue's base figures on day `d` and its share of the aggregate row `agg`."""
        out = []
        for v in self.venues:
            row = self.per_venue[v].metrics.get(d, {}).get("base")
            get = row.get if row else (lambda _k: None)
            out.append(
                VenueShare(
                    venue=v,
                    label=venue_label(v),
                    row=row,
                    shorts=fmt_usd(get("shorts_at_risk")),
                    shorts_share=fmt_share(get("shorts_at_risk"), agg.get("shorts_at_risk")),
                    longs=fmt_usd(get("longs_at_risk")),
                    longs_share=fmt_share(get("longs_at_risk"), agg.get("longs_at_risk")),
                    oi=fmt_usd(get("oi_value")),
                    oi_share=fmt_share(get("oi_value"), agg.get("oi_value")),
                )
            )
        return out


def load_venue_set(conn: duckdb.DuckDBPyConnection, symbol: str) -> VenueSet:
    """The symbol's venues with base rows, each with its marts (`MartData.venue` = it)."""
    rows = queries.rows(conn, queries.SYMBOL_VENUES, symbol=symbol, aggregate=AGGREGATE_VENUE)
    venues = tuple(sorted((r["venue"] for r in rows), key=venue_order))
    return VenueSet(
        symbol=symbol,
        venues=venues,
        per_venue={v: load_mart_data(conn, symbol, v) for v in venues},
    )
