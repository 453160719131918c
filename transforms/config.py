"""Runtime settings read from environment variables, with offline-friendly defaults.

One place decides where data lives and what is ingested, so the CLI, Dagster and the tests
agree. Symbols are validated here because they become path segments and SQL parameters.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,20}$")
SOURCES = ("synthetic", "mirror", "binance")

DEFAULT_START_DATE = "2025-11-01"
DEFAULT_END_DATE = "2026-10-31"
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
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{name}={value!r} is not an ISO date (YYYY-MM-DD)") from exc


@dataclass(frozen=True)
class Settings:
    """Everything configurable by environment; see README "Configuration"."""

    project_root: Path
    data_dir: Path
    warehouse_path: Path
    source: str = "synthetic"
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    start_date: date = field(default_factory=lambda: date.fromisoformat(DEFAULT_START_DATE))
    end_date: date = field(default_factory=lambda: date.fromisoformat(DEFAULT_END_DATE))
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
    raw_symbols = env.get("LIQMAP_SYMBOLS", ",".join(DEFAULT_SYMBOLS))
    symbols = tuple(validate_symbol(s.strip()) for s in raw_symbols.split(",") if s.strip())
    if not symbols:
        raise ConfigError("LIQMAP_SYMBOLS is empty")
    start = _parse_date("LIQMAP_START_DATE", env.get("LIQMAP_START_DATE", DEFAULT_START_DATE))
    end = _parse_date("LIQMAP_END_DATE", env.get("LIQMAP_END_DATE", DEFAULT_END_DATE))
    if end < start:
        raise ConfigError(f"LIQMAP_END_DATE {end} is before LIQMAP_START_DATE {start}")
    mirror = env.get("LIQMAP_MIRROR_DIR")
    site = env.get("LIQMAP_SITE_DIR")
    try:
        seed = int(env.get("LIQMAP_SYNTHETIC_SEED", "7"))
    except ValueError as exc:
        raise ConfigError("LIQMAP_SYNTHETIC_SEED must be an integer") from exc
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
        start_date=start,
        end_date=end,
        binance_url=url,
        mirror_dir=Path(mirror).resolve() if mirror else None,
        synthetic_seed=seed,
        site_dir=Path(site).resolve() if site else None,
        binance_fapi_url=fapi_url,
    )
