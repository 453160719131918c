"""POST pending alerts to the configured webhooks: generic JSON, Slack- or Discord-compatible.

Delivery never blocks the refresh: it runs after the refresh is published, one thread per
webhook, under an overall budget. Each POST has its own deadline (a hanging webhook costs at
most that), failures are retried with backoff (0.5 s, 1 s, 2 s ...) up to the webhook's
`retries`, and a webhook that still fails is left for the next refresh (its remaining alerts
untried, so one dead endpoint cannot eat the budget). Outcomes are written to
`mart.alert_deliveries` at the end, in one transaction; `liqmap status` reports what is
undelivered.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import httpx

from transforms.alerts.rules import AlertsConfig, Webhook
from transforms.db import transaction
from transforms.http import HttpError, make_client, post_json

#: attempts (over all refreshes) after which a delivery is given up and only reported
MAX_ATTEMPTS = 24
DEFAULT_BUDGET_S = 20.0

PENDING_SQL = """
SELECT d.alert_id, d.webhook, d.attempts, a.rule, a.kind, a.venue, a.symbol, a.level_key,
       a.fired_at, a.day, a.provisional, a.title, a.detail, a.value, a.threshold
FROM mart.alert_deliveries AS d JOIN mart.alerts AS a USING (alert_id)
WHERE d.delivered_at IS NULL AND d.attempts < $max
ORDER BY a.fired_at, d.alert_id
"""
UPDATE_SQL = """
UPDATE mart.alert_deliveries
SET attempts = attempts + $attempts, delivered_at = $delivered, last_error = $error,
    updated_at = $now
WHERE alert_id = $alert_id AND webhook = $webhook
"""
UNDELIVERED_SQL = """
SELECT d.webhook, count(*), max(d.attempts), arg_max(d.last_error, d.updated_at)
FROM mart.alert_deliveries AS d WHERE d.delivered_at IS NULL
GROUP BY d.webhook ORDER BY d.webhook
"""


def body(fmt: str, alert: dict[str, Any]) -> bytes:
    """The POST body: `json` (every field), `slack` ({"text"}), `discord` ({"content"})."""
    when = alert["fired_at"]
    stamp = when.strftime("%Y-%m-%d %H:%M UTC") if isinstance(when, datetime) else str(when)
    status = "provisional" if alert["provisional"] else "final"
    line = f"{alert['title']} (as of {stamp}, {status})"
    if fmt == "slack":
        doc: dict[str, Any] = {"text": f"*{line}*\n{alert['detail']}"}
    elif fmt == "discord":
        doc = {"username": "liqmap", "content": f"**{line}**\n{alert['detail']}"}
    else:
        doc = {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in alert.items()
            if k not in ("webhook", "attempts")
        }
    return json.dumps(doc, separators=(",", ":")).encode()


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: list[str] = field(default_factory=list)  # one line per webhook that failed
    pending: int = 0  # deliveries tried and still undelivered


@dataclass
class _Outcome:
    alert_id: str
    webhook: str
    attempts: int
    delivered: bool
    error: str | None


def _deliver_hook(
    hook: Webhook,
    items: list[dict[str, Any]],
    client: httpx.Client,
    sleep: Callable[[float], None],
    stop_at: float,
    out: list[_Outcome],
    lock: threading.Lock,
) -> None:
    for alert in items:
        error: str | None = None
        attempts = 0
        for attempt in range(hook.retries):
            if time.monotonic() >= stop_at:
                error = error or "delivery budget used up before an attempt"
                break
            attempts += 1
            try:
                post_json(client, hook.url, body(hook.format, alert), deadline_s=hook.deadline_s)
                error = None
                break
            except HttpError as exc:
                error = " ".join(str(exc).split())
            if attempt + 1 < hook.retries:
                sleep(min(0.5 * 2**attempt, max(0.0, stop_at - time.monotonic())))
        with lock:
            out.append(_Outcome(alert["alert_id"], hook.name, attempts, error is None, error))
        if error is not None:
            return  # the endpoint is failing: its other alerts wait for the next refresh


def deliver_pending(
    conn: duckdb.DuckDBPyConnection,
    config: AlertsConfig,
    now: datetime,
    *,
    budget_s: float = DEFAULT_BUDGET_S,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Deliver every pending (alert, webhook) pair within `budget_s` (module doc)."""
    report = DeliveryReport()
    cur = conn.execute(PENDING_SQL, {"max": MAX_ATTEMPTS})
    names = [d[0] for d in cur.description]
    pending = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    hooks = {h.name: h for h in config.webhooks}
    by_hook: dict[str, list[dict[str, Any]]] = {}
    for item in pending:
        if item["webhook"] in hooks:
            by_hook.setdefault(item["webhook"], []).append(item)
    if not by_hook:
        return report
    outcomes: list[_Outcome] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + budget_s
    client = make_client(op_timeout_s=max(h.deadline_s for h in config.webhooks))
    pool = ThreadPoolExecutor(max_workers=len(by_hook), thread_name_prefix="liqmap-webhook")
    try:
        futures = [
            pool.submit(_deliver_hook, hooks[n], items, client, sleep, stop_at, outcomes, lock)
            for n, items in by_hook.items()
        ]
        wait(futures, timeout=budget_s + max(h.deadline_s for h in hooks.values()) + 1)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    with lock:
        done = list(outcomes)
    stamp = now.astimezone(UTC).replace(tzinfo=None)
    with transaction(conn):
        for o in done:
            conn.execute(
                UPDATE_SQL,
                {
                    "attempts": o.attempts,
                    "delivered": stamp if o.delivered else None,
                    "error": o.error,
                    "now": stamp,
                    "alert_id": o.alert_id,
                    "webhook": o.webhook,
                },
            )
    client.close()
    report.delivered = sum(o.delivered for o in done)
    failed = [o for o in done if not o.delivered]
    report.pending = len(failed)
    report.failed = [f"webhook {o.webhook!r}: {o.error}" for o in failed]
    return report


def undelivered(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int, str | None]]:
    """(webhook, undelivered alerts, most attempts, last error) for `liqmap status`."""
    return [tuple(r) for r in conn.execute(UNDELIVERED_SQL).fetchall()]  # type: ignore[misc]
