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
from urllib.parse import urlsplit

from transforms.venues import DEFAULT_VENUES, venue_names

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,20}$")
SOURCES = ("synthetic", "mirror", "binance")

# The default range is the year that ends yesterday (UTC), so the demo lives in the present
# and the schedule and sensor have a real "yesterday" to build.
DEFAULT_RANGE_DAYS = 365
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")  # the demo's market
DEFAULT_BINANCE_URL = "https://data.binance.vision/data/futures/um/"
DEFAULT_BINANCE_FAPI_URL = "https://fapi.binance.com/"
# A step opening the warehouse while another process holds its write lock tries this many
# times, waiting 0.5 s and doubling in between (6 attempts: about 15 s), then fails clearly.
DEFAULT_LOCK_ATTEMPTS = 6
MAX_LOCK_ATTEMPTS = 12  # about 17 minutes of waiting


class ConfigError(ValueError):
    """A setting is malformed; the message names the variable and the accepted values."""


def positive_seconds(env: dict[str, str], name: str, default: float) -> float:
    """A duration setting in seconds: unset or blank gives `default`, anything not > 0 is refused
    with one line naming the variable."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise ConfigError(f"{name}={raw!r}: expected a number of seconds > 0")
    return value


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


def parse_now(raw: str) -> datetime | None:
    """LIQMAP_NOW (ISO time, UTC when no offset): a pinned clock instead of the system's, for
    replaying a run or a refresh and for tests; empty means the system clock."""
    if not raw.strip():
        return None
    try:
        when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"LIQMAP_NOW={raw!r} is not a time: expected ISO 8601, e.g. 2026-10-04T13:07:30Z"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def now_utc(env: dict[str, str] | None = None) -> datetime:
    """Now in UTC: LIQMAP_NOW when it is set (in `env`, default os.environ), else the system
    clock. The offline venues' fake exchanges read it, so a pinned clock pins what they serve."""
    pinned = parse_now((os.environ if env is None else env).get("LIQMAP_NOW", ""))
    return (pinned or datetime.now(UTC)).astimezone(UTC)


def current_day(env: dict[str, str] | None = None) -> date:
    """Today in UTC: LIQMAP_NOW's day when it is set (in `env`, default os.environ), else the
    system clock's. Everything that means "yesterday" (the default end, the last day a run
    accepts, the sensor's recent days) counts from here, so a pinned clock pins them all."""
    return now_utc(env).date()


def default_end_date(today: date | None = None) -> date:
    """Yesterday in UTC: the last complete day (and the last daily partition)."""
    return (today or current_day()) - timedelta(days=1)


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
    lock_attempts: int = DEFAULT_LOCK_ATTEMPTS

    @property
    def cache_dir(self) -> Path:
        """Verified raw archive files, laid out exactly like the archive."""
        return self.data_dir / "cache"

    @property
    def synthetic_dir(self) -> Path:
        """Where the synthetic generator writes its mirror."""
        return self.data_dir / "synthetic-mirror"

    @property
    def demo_markets_dir(self) -> Path:
        """The offline demo's fake REST venues' markets, memory-mapped by their feeds
        (transforms.raw.rest.demo_markets)."""
        return self.data_dir / "synthetic-markets"

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


def parse_url(name: str, value: str) -> str:
    """An http(s) base URL with a host, ending in '/', else ConfigError naming the variable."""
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}={value!r}: expected an http:// or https:// URL with a host")
    return url if url.endswith("/") else url + "/"


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
    today = current_day(env)  # validates LIQMAP_NOW, whichever command reads the settings
    end = _parse_date("LIQMAP_END_DATE", end_text) if end_text else default_end_date(today)
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
    lock_attempts = _parse_lock_attempts(env.get("LIQMAP_LOCK_ATTEMPTS", ""))
    url = parse_url("LIQMAP_BINANCE_URL", env.get("LIQMAP_BINANCE_URL", DEFAULT_BINANCE_URL))
    fapi_url = parse_url(
        "LIQMAP_BINANCE_FAPI_URL", env.get("LIQMAP_BINANCE_FAPI_URL", DEFAULT_BINANCE_FAPI_URL)
    )
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
        lock_attempts=lock_attempts,
    )


def _parse_lock_attempts(raw: str) -> int:
    """LIQMAP_LOCK_ATTEMPTS: 1 to MAX_LOCK_ATTEMPTS (empty: the default)."""
    if not raw.strip():
        return DEFAULT_LOCK_ATTEMPTS
    try:
        attempts = int(raw)
    except ValueError:
        attempts = 0
    if not 1 <= attempts <= MAX_LOCK_ATTEMPTS:
        raise ConfigError(
            f"LIQMAP_LOCK_ATTEMPTS={raw!r}: expected a whole number from 1 to "
            f"{MAX_LOCK_ATTEMPTS} (tries to open a warehouse another process has locked)"
        )
    return attempts


def _file_ancestor(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` that is not a folder (nothing can be made
    under it), or None."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def _check_folder(name: str, path: Path) -> None:
    """A folder setting must be a folder or creatable as one."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{name}={path} is a file: expected a folder (or a path to create one)")
    blocker = _file_ancestor(path)
    if blocker is not None:
        raise ConfigError(
            f"{name}={path} cannot be created: {blocker} is a file, expected a folder"
        )


def _check_warehouse(path: Path) -> None:
    from transforms.db import is_duckdb_file

    name = "LIQMAP_WAREHOUSE"
    if path.is_dir():
        raise ConfigError(f"{name}={path} is a folder: expected a DuckDB file path")
    if path.exists() and not is_duckdb_file(path):
        raise ConfigError(
            f"{name}={path} is not a DuckDB database: expected the warehouse file "
            "(move it away and the run rebuilds it)"
        )
    blocker = _file_ancestor(path)
    if blocker is not None:
        raise ConfigError(
            f"{name}={path} cannot be created: {blocker} is a file, expected a folder"
        )


def _check_mirror(settings: Settings) -> None:
    root = settings.mirror_dir
    if root is None:
        return
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise ConfigError(
            f"LIQMAP_MIRROR_DIR={root} {what}: expected a folder in the archive "
            "layout (daily/klines/<SYMBOL>/1m/...)"
        )
    if "binance" not in settings.venues:
        return
    empty = [s for s in settings.symbols if not (root / "daily" / "klines" / s).is_dir()]
    if empty:
        raise ConfigError(
            f"LIQMAP_MIRROR_DIR={root} holds no archive files for {', '.join(empty)}: expected "
            f"{root}/daily/klines/{empty[0]}/1m/{empty[0]}-1m-YYYY-MM-DD.zip and the other "
            "datasets in the archive layout"
        )


def check_inputs(settings: Settings) -> None:
    """Checks that touch the filesystem (kept out of load_settings, which sensors call on every
    tick): folders are folders (or can be made), the warehouse is a DuckDB file (or absent),
    the mirror holds archive files. Raises ConfigError naming the setting."""
    _check_folder("LIQMAP_DATA_DIR", settings.data_dir)
    _check_warehouse(settings.warehouse_path)
    _check_folder("LIQMAP_SITE_DIR", settings.output_site_dir)
    if settings.source == "mirror":
        _check_mirror(settings)
