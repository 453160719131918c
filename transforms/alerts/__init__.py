"""Alerts: rules a user writes in alerts.toml, evaluated on every nowcast refresh and daily
run, recorded in mart.alerts, delivered to webhooks (docs/alerts.md)."""

from transforms.alerts.deliver import DeliveryReport, deliver_pending, undelivered
from transforms.alerts.evaluate import evaluate_alerts
from transforms.alerts.rules import AlertsConfig, alerts_path, load_alerts

__all__ = [
    "AlertsConfig",
    "DeliveryReport",
    "alerts_path",
    "deliver_pending",
    "evaluate_alerts",
    "load_alerts",
    "undelivered",
]
