"""Alert rules and webhooks from the user's `alerts.toml` (docs/alerts.md), validated whole.

The file is read on every refresh and daily run, so an edit takes effect on the next one. A
bad file is refused with one line naming the file, the rule or webhook, the key, what is
expected and what was found; nothing of it is used (the nowcast itself still runs).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from transforms.config import ConfigError, Settings, validate_symbol
from transforms.venues import AGGREGATE_VENUE

#: what each kind needs (key -> (type, default or None when required)) and what it means
KINDS: dict[str, dict[str, tuple[type, Any]]] = {
    # price within `within_pct` % of the nearest major cluster on either side; re-arms once
    # farther than `rearm_pct` % (or the cluster is gone)
    "near_cluster": {"within_pct": (float, None), "rearm_pct": (float, 0.0)},
    # the peak cluster of a side holds at least `min_usd`; re-arms below `rearm_usd`
    "cluster_size": {"min_usd": (float, None), "rearm_usd": (float, 0.0)},
    # the near-spot (±10 %) imbalance changed its heavier side since the previous day; a side
    # counts only beyond `band` (1.25:1 with band 0.25), so a ratio hovering near 1 is quiet
    "imbalance_side": {"band": (float, 0.25)},
    # the funding state (elevated | neutral | negative | reset) changed since the previous day
    "funding_state": {},
}
FORMATS = ("json", "slack", "discord")
DEFAULT_FILE = "alerts.toml"


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    venue: str = AGGREGATE_VENUE
    symbols: tuple[str, ...] = ()  # empty: every configured symbol
    options: dict[str, float] = field(default_factory=dict)

    def applies(self, symbol: str) -> bool:
        return not self.symbols or symbol in self.symbols


@dataclass(frozen=True)
class Webhook:
    name: str
    url: str
    format: str = "json"
    deadline_s: float = 5.0  # one POST, connect to last byte
    retries: int = 3  # attempts per refresh (backoff 0.5 s, 1 s, 2 s ...)


@dataclass(frozen=True)
class AlertsConfig:
    path: Path | None
    rules: tuple[Rule, ...] = ()
    webhooks: tuple[Webhook, ...] = ()


def alerts_path(settings: Settings, env: dict[str, str] | None = None) -> Path:
    """LIQMAP_ALERTS_FILE, else `alerts.toml` in the data folder's parent project root."""
    env = dict(os.environ if env is None else env)
    raw = env.get("LIQMAP_ALERTS_FILE", "").strip()
    return Path(raw).resolve() if raw else settings.project_root / DEFAULT_FILE


def _fail(path: Path, where: str, key: str, expected: str, got: object) -> ConfigError:
    return ConfigError(f"{path}: {where}: {key} must be {expected}, got {got!r}")


def _number(path: Path, where: str, table: dict, key: str, default: Any) -> float:
    if key not in table:
        if default is None:
            raise _fail(path, where, key, "set (a number)", None)
        return float(default)
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise _fail(path, where, key, "a number >= 0", value)
    return float(value)


def _rule(path: Path, i: int, table: Any) -> Rule:
    where = f"rule {i + 1}"
    if not isinstance(table, dict):
        raise _fail(path, where, "[[rule]]", "a table", table)
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(path, where, "name", "a non-empty string", name)
    where = f"rule {i + 1} ({name!r})"
    kind = table.get("kind")
    if kind not in KINDS:
        raise _fail(path, where, "kind", f"one of {', '.join(KINDS)}", kind)
    known = {"name", "kind", "venue", "symbols", *KINDS[kind]}
    unknown = sorted(set(table) - known)
    if unknown:
        raise _fail(path, where, unknown[0], f"one of the keys {', '.join(sorted(known))}", "?")
    venue = table.get("venue", AGGREGATE_VENUE)
    if not isinstance(venue, str):
        raise _fail(path, where, "venue", "a venue name or 'all'", venue)
    symbols = table.get("symbols", [])
    if not isinstance(symbols, list):
        raise _fail(path, where, "symbols", "a list of tickers", symbols)
    for s in symbols:
        try:
            validate_symbol(s)
        except ConfigError:
            raise _fail(path, where, "symbols", "tickers like BTCUSDT", s) from None
    options = {k: _number(path, where, table, k, d) for k, (_, d) in KINDS[kind].items()}
    if kind == "near_cluster":
        options["rearm_pct"] = max(options["rearm_pct"], options["within_pct"] * 1.5)
    if kind == "cluster_size":
        if options["rearm_usd"] > options["min_usd"]:
            raise _fail(path, where, "rearm_usd", "<= min_usd", options["rearm_usd"])
        options["rearm_usd"] = options["rearm_usd"] or options["min_usd"] * 0.8
    return Rule(name, kind, venue, tuple(symbols), options)


def _webhook(path: Path, i: int, table: Any) -> Webhook:
    where = f"webhook {i + 1}"
    if not isinstance(table, dict):
        raise _fail(path, where, "[[webhook]]", "a table", table)
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(path, where, "name", "a non-empty string", name)
    where = f"webhook {i + 1} ({name!r})"
    url = table.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise _fail(path, where, "url", "an http(s):// URL", url)
    fmt = table.get("format", "json")
    if fmt not in FORMATS:
        raise _fail(path, where, "format", f"one of {', '.join(FORMATS)}", fmt)
    deadline = _number(path, where, table, "deadline_s", 5.0)
    if not 0 < deadline <= 60:
        raise _fail(path, where, "deadline_s", "seconds in (0, 60]", deadline)
    retries = table.get("retries", 3)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 1 <= retries <= 10:
        raise _fail(path, where, "retries", "an integer from 1 to 10", retries)
    return Webhook(name, url, fmt, deadline, retries)


def load_alerts(path: Path) -> AlertsConfig:
    """The rules and webhooks of `path`; no file means no alerts (not an error)."""
    if not path.is_file():
        return AlertsConfig(None)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - {"rule", "webhook"})
    if unknown:
        raise ConfigError(f"{path}: unknown table {unknown[0]!r}: expected [[rule]] or [[webhook]]")
    rules = tuple(_rule(path, i, t) for i, t in enumerate(doc.get("rule", [])))
    hooks = tuple(_webhook(path, i, t) for i, t in enumerate(doc.get("webhook", [])))
    for what, names in (("rule", [r.name for r in rules]), ("webhook", [h.name for h in hooks])):
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"{path}: two {what}s are named {dup[0]!r}: names must be unique")
    return AlertsConfig(path, rules, hooks)
