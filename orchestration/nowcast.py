"""One nowcast cycle, shared by `liqmap now` and the hourly Dagster schedule: refresh the
day in progress (transforms.raw.intraday), evaluate the alert rules, publish the "now" view
and the alerts feed, then deliver pending alerts to the webhooks.

The order is the contract: the refreshed (or, after a failure, the last good and stale-marked)
nowcast is published before any webhook is called, and delivery runs under its own budget, so
a hanging or failing webhook never holds the refresh back; what it could not deliver is
retried next time. A bad alerts.toml is one line and skips the alerts, never the nowcast.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from transforms.alerts import (
    DeliveryReport,
    alerts_path,
    deliver_pending,
    evaluate_alerts,
    load_alerts,
)
from transforms.config import ConfigError, Settings
from transforms.db import HeldConnection, open_warehouse
from transforms.raw.intraday.nowcast import NowcastResult, refresh_nowcast

LOG = logging.getLogger("liqmap.nowcast")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class NowcastRun:
    """What one cycle did."""

    refresh: NowcastResult
    alerts: list[dict] = field(default_factory=list)
    alerts_error: str | None = None
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    pages: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.refresh.ok and self.alerts_error is None

    def lines(self) -> list[str]:
        """Every failure, one line each (refresh, alerts file, webhooks)."""
        out = list(self.refresh.failures)
        if self.alerts_error:
            out.append(self.alerts_error)
        return out + self.delivery.failed


def warehouse_connect(settings: Settings) -> Callable:
    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        conn = open_warehouse(str(settings.warehouse_path))
        try:
            yield conn
        finally:
            conn.close()

    return connect


def evaluate_and_publish_alerts(
    conn: duckdb.DuckDBPyConnection, settings: Settings, now: datetime
) -> tuple[list[dict], str | None]:
    """Evaluate alerts.toml's rules (new alerts, or the one-line reason the file was refused)."""
    try:
        config = load_alerts(alerts_path(settings))
    except ConfigError as exc:
        return [], str(exc)
    return evaluate_alerts(conn, config, settings.symbols, now), None


def deliver(
    settings: Settings, connect: Callable, now: datetime, sleep: Callable[[float], None]
) -> DeliveryReport:
    """Pending webhook deliveries within the delivery budget (after publication)."""
    try:
        config = load_alerts(alerts_path(settings))
    except ConfigError:
        return DeliveryReport()  # already reported by the evaluation
    with connect() as conn:
        return deliver_pending(conn, config, now, sleep=sleep)


def run_nowcast(
    settings: Settings,
    *,
    now: Callable[[], datetime] = _utcnow,
    binance_url: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    log: logging.Logger | logging.LoggerAdapter = LOG,
    connect: Callable | None = None,
) -> NowcastRun:
    """Refresh, alerts, site, delivery (module doc). `connect` opens the warehouse (default:
    the settings' file; Dagster passes its resource, which waits out another writer). The
    view's code (reports) is imported here, not with the definitions."""
    from reports.now_site import build_now_view

    held = HeldConnection(connect or warehouse_connect(settings))
    try:
        refresh = refresh_nowcast(
            held, settings, log, now=now, binance_url=binance_url, sleep=sleep
        )
        run = NowcastRun(refresh)
        run.seconds.update(refresh.steps)
        t = time.perf_counter()
        with held() as conn:
            run.alerts, run.alerts_error = evaluate_and_publish_alerts(conn, settings, refresh.now)
            run.seconds["alerts"] = time.perf_counter() - t
            t = time.perf_counter()
            pages = build_now_view(
                conn, settings.output_site_dir, settings.symbols, settings.source, now()
            )
            run.pages = len(pages)
        run.seconds["site"] = time.perf_counter() - t
        t = time.perf_counter()
        run.delivery = deliver(settings, held, now(), sleep)
        run.seconds["delivery"] = time.perf_counter() - t
        t = time.perf_counter()
    finally:
        held.release()
    run.seconds["close"] = time.perf_counter() - t
    for line in run.lines()[len(refresh.failures) :]:
        log.error(line)
    return run
