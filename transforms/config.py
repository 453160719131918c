"""Runtime settings read from environment variables, with offline-friendly defaults.

One place decides where data lives and what is ingested, so the CLI, Dagster and the tests
agree. Symbols are validated here because they become path segments and SQL parameters.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from transforms.venues import DEFAULT_VENUES, venue_names

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,20}$")
SOURCES = ("synthetic", "mirror", "binance")

# The default range is the year that ends yesterday (UTC), so the demo lives in the present
# and the schedule and sensor have a real "yesterday" to build.
DEFAULT_RANGE_DAYS = 365
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")  # the demo's market
DEFAULT_BINANCE_URL = "https://data.binance.vision/data/futures/um/"
DEFAULT_BINANCE_FAPI_URL = "https://fapi.binance.com/"


class ConfigError(ValueError):
    """A setting is malformed; the message names the variable and the accepted values."""


def validate_symbol(symbol: str) -> str:
    """Return the symbol if it is a plain exchange ticker (A-Z, 0-9), else raise ConfigError."""
    if not isinstance(symbol, str) or not SYMBOL_PATTERN.fullmatch(symbol):
        raise ConfigError(
            f"invalid symbol {symbol!r}: expected 2-20 upper-case letters/digits, e.g. BTCUSDT"
        )
    return symbol


def _parse_date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a date: expected YYYY-MM-DD") from None


def default_end_date(today: date | None = None) -> date:
    """Yesterday in UTC: the last complete day (and the last daily partition)."""
    return (today or datetime.now(UTC).date()) - timedelta(days=1)


def default_start_date(end: date) -> date:
    """The first day of the DEFAULT_RANGE_DAYS-day window ending on `end`."""
    return end - timedelta(days=DEFAULT_RANGE_DAYS - 1)


@dataclass(frozen=True)
class Settings:
    """Everything configurable by environment; see README "Configuration"."""

    project_root: Path
    data_dir: Path
    warehouse_path: Path
    source: str = "synthetic"
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    venues: tuple[str, ...] = DEFAULT_VENUES
    start_date: date = field(default_factory=lambda: default_start_date(default_end_date()))
    end_date: date = field(default_factory=default_end_date)
    binance_url: str = DEFAULT_BINANCE_URL
    mirror_dir: Path | None = None
    synthetic_seed: int = 7
    site_dir: Path | None = None
    binance_fapi_url: str = DEFAULT_BINANCE_FAPI_URL

    @property
    def cache_dir(self) -> Path:
        """Verified raw archive files, laid out exactly like the archive."""
        return self.data_dir / "cache"

    @property
    def synthetic_dir(self) -> Path:
        """Where the synthetic generator writes its mirror."""
        return self.data_dir / "synthetic-mirror"

    @property
    def snapshot_path(self) -> Path:
        """Read-only copy of the warehouse published after each successful run."""
        return self.data_dir / "snapshot" / "warehouse.duckdb"

    @property
    def exports_dir(self) -> Path:
        """Parquet exports of the marts for ad hoc readers."""
        return self.data_dir / "snapshot" / "parquet"

    @property
    def output_site_dir(self) -> Path:
        return self.site_dir or (self.project_root / "site")

    @property
    def primary_symbol(self) -> str:
        return self.symbols[0]


def parse_venues(raw: str) -> tuple[str, ...]:
    """LIQMAP_VENUES: comma-separated venue names, known and not repeated, in the given order."""
    venues = tuple(v.strip().lower() for v in raw.split(",") if v.strip())
    known = venue_names()  # the venue registry (transforms/venues.py)
    unknown = [v for v in venues if v not in known]
    if unknown or not venues or len(set(venues)) != len(venues):
        raise ConfigError(
            f"LIQMAP_VENUES={raw!r}: expected comma-separated venues from {', '.join(known)} "
            "without repeats, e.g. binance,bybit"
        )
    return venues


def project_root() -> Path:
    """The repository root (parent of this package)."""
    return Path(__file__).resolve().parent.parent


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build Settings from `env` (defaults to os.environ), validating every value."""
    env = dict(os.environ if env is None else env)
    root = project_root()
    data_dir = Path(env.get("LIQMAP_DATA_DIR", str(root / "data"))).resolve()
    warehouse = Path(env.get("LIQMAP_WAREHOUSE", str(data_dir / "warehouse.duckdb"))).resolve()
    source = env.get("LIQMAP_SOURCE", "synthetic").strip().lower()
    if source not in SOURCES:
        raise ConfigError(f"LIQMAP_SOURCE={source!r}: expected one of {', '.join(SOURCES)}")
    mirror = env.get("LIQMAP_MIRROR_DIR")
    if source == "mirror" and not mirror:
        raise ConfigError(
            "LIQMAP_SOURCE=mirror needs LIQMAP_MIRROR_DIR: expected a folder in the archive layout"
        )
    raw_symbols = env.get("LIQMAP_SYMBOLS", ",".join(DEFAULT_SYMBOLS))
    symbols = tuple(s.strip() for s in raw_symbols.split(",") if s.strip())
    bad = [s for s in symbols if not SYMBOL_PATTERN.fullmatch(s)]
    if bad or not symbols:
        raise ConfigError(
            f"LIQMAP_SYMBOLS={raw_symbols!r}: expected comma-separated tickers of 2-20 "
            "upper-case letters/digits, e.g. BTCUSDT or BTCUSDT,ETHUSDT"
        )
    venues = parse_venues(env.get("LIQMAP_VENUES", ",".join(DEFAULT_VENUES)))
    end_text = env.get("LIQMAP_END_DATE", "").strip()
    end = _parse_date("LIQMAP_END_DATE", end_text) if end_text else default_end_date()
    start_text = env.get("LIQMAP_START_DATE", "").strip()
    start = _parse_date("LIQMAP_START_DATE", start_text) if start_text else default_start_date(end)
    if end < start:
        raise ConfigError(
            f"LIQMAP_END_DATE={end} is before LIQMAP_START_DATE={start}: "
            "expected an end on or after the start"
        )
    site = env.get("LIQMAP_SITE_DIR")
    try:
        seed = int(env.get("LIQMAP_SYNTHETIC_SEED", "7"))
    except ValueError:
        raise ConfigError(
            f"LIQMAP_SYNTHETIC_SEED={env['LIQMAP_SYNTHETIC_SEED']!r}: expected an integer"
        ) from None
    url = env.get("LIQMAP_BINANCE_URL", DEFAULT_BINANCE_URL)
    if not url.endswith("/"):
        url += "/"
    fapi_url = env.get("LIQMAP_BINANCE_FAPI_URL", DEFAULT_BINANCE_FAPI_URL)
    if not fapi_url.endswith("/"):
        fapi_url += "/"
    return Settings(
        project_root=root,
        data_dir=data_dir,
        warehouse_path=warehouse,
        source=source,
        symbols=symbols,
        venues=venues,
        start_date=start,
        end_date=end,
        binance_url=url,
        mirror_dir=Path(mirror).resolve() if mirror else None,
        synthetic_seed=seed,
        site_dir=Path(site).resolve() if site else None,
        binance_fapi_url=fapi_url,
    )


def check_inputs(settings: Settings) -> None:
    """Checks that touch the filesystem (kept out of load_settings, which sensors call on every
    tick): the mirror folder must exist. Raises ConfigError naming the setting."""
    if settings.source == "mirror" and settings.mirror_dir and not settings.mirror_dir.is_dir():
        what = "is not a folder" if settings.mirror_dir.exists() else "does not exist"
        raise ConfigError(
            f"LIQMAP_MIRROR_DIR={settings.mirror_dir} {what}: expected a folder in the archive "
            "layout (daily/klines/<SYMBOL>/1m/...)"
        )
