"""Alerts: alerts.toml validated in one line, rules evaluated on real mart rows (DuckDB) with
deduplication and hysteresis, and delivery to real webhooks on 127.0.0.1 (JSON, Slack,
Discord bodies; a webhook answering 500 or hanging is reported and retried next time)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from tests.nowcast_helpers import WebhookServer
from transforms.alerts import deliver_pending, evaluate_alerts, load_alerts, undelivered
from transforms.alerts.rules import AlertsConfig, Rule, Webhook
from transforms.config import ConfigError, project_root
from transforms.db import apply_schema

D0, D1 = date(2026, 10, 3), date(2026, 10, 4)
NOW = datetime(2026, 10, 4, 13, 7, tzinfo=UTC)


def test_example_file_loads():
    config = load_alerts(project_root() / "docs" / "alerts.example.toml")
    assert [r.kind for r in config.rules] == [
        "near_cluster",
        "cluster_size",
        "imbalance_side",
        "funding_state",
    ]
    assert config.rules[0].options == {"within_pct": 1.0, "rearm_pct": 1.5}


def test_missing_file_means_no_alerts(tmp_path):
    assert load_alerts(tmp_path / "alerts.toml") == AlertsConfig(None)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[[rule]]\nname = "a"\nkind = "moon"\n', "rule 1 ('a'): kind must be one of"),
        ('[[rule]]\nname = "a"\nkind = "near_cluster"\n', "within_pct must be set"),
        ('[[rule]]\nname = "a"\nkind = "near_cluster"\nwithin_pct = -1\n', "a number >= 0"),
        ('[[rule]]\nname = "a"\nkind = "funding_state"\nwithin = 1\n', "within must be one of"),
        ('[[webhook]]\nname = "w"\nurl = "ftp://x"\n', "webhook 1 ('w'): url must be an http"),
        ('[[webhook]]\nname = "w"\nurl = "http://x"\nformat = "teams"\n', "format must be"),
        ("[[rule]\n", "not valid TOML"),
        ("[rules]\n", "unknown table 'rules'"),
    ],
)
def test_bad_file_is_one_line_naming_the_place(tmp_path, text, named):
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_alerts(path)
    message = str(exc.value)
    assert str(path) in message and named in message and "\n" not in message


# --- evaluation on real mart rows --------------------------------------------------------


@pytest.fixture
def conn():
    c = duckdb.connect()
    apply_schema(c)
    yield c
    c.close()


def _metrics(conn, day: date, **values) -> None:
    row = {
        "symbol": "BTCUSDT",
        "day": day,
        "scenario": "base",
        "venue": "all",
        "params_hash": "h",
        "close_price": 100_000.0,
        **values,
    }
    conn.execute("DELETE FROM mart.daily_metrics WHERE day = $d AND venue = 'all'", {"d": day})
    cols = ", ".join(row)
    conn.execute(
        f"INSERT INTO mart.daily_metrics ({cols}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )


def _config(*rules: Rule, hooks: tuple[Webhook, ...] = ()) -> AlertsConfig:
    return AlertsConfig(Path("alerts.toml"), rules, hooks)


NEAR = Rule("near", "near_cluster", options={"within_pct": 1.0, "rearm_pct": 1.5})


def _near(conn, pct: float) -> list[dict]:
    _metrics(
        conn,
        D1,
        nearest_cluster_above_price=101_000.0,
        nearest_cluster_above_pct=pct,
        nearest_cluster_above_notional=5e7,
    )
    return evaluate_alerts(conn, _config(NEAR), ("BTCUSDT",), NOW)


def test_near_cluster_fires_once_until_it_rearms(conn):
    conn.execute("INSERT INTO mart.provisional_days VALUES ('all', 'BTCUSDT', $d, $t)",
                 {"d": D1, "t": datetime(2026, 10, 4, 13, 5)})  # fmt: skip
    [first] = _near(conn, 0.008)
    assert first["title"] == "BTCUSDT: price 0.80 % from the major short cluster at 101,000"
    assert first["provisional"] and first["fired_at"] == datetime(2026, 10, 4, 13, 5)
    assert _near(conn, 0.006) == []  # still near: the same level does not fire again
    assert _near(conn, 0.012) == []  # inside the hysteresis band: not re-armed
    assert conn.execute("SELECT bool_or(armed) FROM mart.alerts").fetchone()[0] is False
    assert _near(conn, 0.02) == []  # beyond 1.5 %: re-armed, nothing fires
    assert conn.execute("SELECT bool_and(armed) FROM mart.alerts").fetchone()[0] is True
    again = _near(conn, 0.009)
    assert len(again) == 1 and again[0]["level_key"] == first["level_key"]
    assert conn.execute("SELECT count(*) FROM mart.alerts").fetchone()[0] == 2


def test_cluster_size_and_a_new_level_fire_separately(conn):
    rule = Rule("big", "cluster_size", options={"min_usd": 5e7, "rearm_usd": 4e7})

    def run(price: float, size: float) -> list[dict]:
        _metrics(conn, D1, peak_cluster_below_price=price, peak_cluster_below_notional=size)
        return evaluate_alerts(conn, _config(rule), ("BTCUSDT",), NOW)

    assert [a["level_key"] for a in run(95_000.0, 6e7)] == ["below:95000"]
    assert run(95_000.0, 4.5e7) == []  # between rearm and min: holds, no re-fire
    assert [a["level_key"] for a in run(94_500.0, 7e7)] == ["below:94500"]  # another level


def test_imbalance_side_and_funding_state_changes(conn):
    rules = (
        Rule("flip", "imbalance_side", options={"band": 0.25}),
        Rule("funding", "funding_state"),
    )
    _metrics(conn, D0, longs_at_risk_10pct=3e8, shorts_at_risk_10pct=1e8, funding_state="neutral")
    _metrics(conn, D1, longs_at_risk_10pct=1e8, shorts_at_risk_10pct=1.1e8, funding_state="neutral")
    assert evaluate_alerts(conn, _config(*rules), ("BTCUSDT",), NOW) == []  # 1.1:1 is no side
    _metrics(conn, D1, longs_at_risk_10pct=1e8, shorts_at_risk_10pct=2e8, funding_state="elevated")
    fired = evaluate_alerts(conn, _config(*rules), ("BTCUSDT",), NOW)
    assert sorted(a["title"] for a in fired) == [
        "BTCUSDT: funding neutral -> elevated",
        "BTCUSDT: near-spot imbalance turned to shorts (2.0:1 shorts)",
    ]
    assert evaluate_alerts(conn, _config(*rules), ("BTCUSDT",), NOW) == []


# --- delivery to real webhooks -----------------------------------------------------------


def _fire_one(conn, hooks: tuple[Webhook, ...]) -> dict:
    _metrics(conn, D1, peak_cluster_above_price=101_000.0, peak_cluster_above_notional=9e7)
    rule = Rule("big", "cluster_size", options={"min_usd": 5e7, "rearm_usd": 4e7})
    [alert] = evaluate_alerts(conn, _config(rule, hooks=hooks), ("BTCUSDT",), NOW)
    return alert


def test_json_slack_discord_bodies(conn):
    with WebhookServer() as a, WebhookServer() as b, WebhookServer() as c:
        hooks = (
            Webhook("generic", a.url, "json"),
            Webhook("slack", b.url, "slack"),
            Webhook("discord", c.url, "discord"),
        )
        alert = _fire_one(conn, hooks)
        report = deliver_pending(conn, _config(hooks=hooks), NOW, sleep=lambda s: None)
        assert report.delivered == 3 and report.failed == []
        [generic], [slack], [discord] = a.bodies, b.bodies, c.bodies
    assert generic["alert_id"] == alert["alert_id"] and generic["kind"] == "cluster_size"
    assert generic["symbol"] == "BTCUSDT" and generic["day"] == "2026-10-04"
    assert set(slack) == {"text"} and alert["title"] in slack["text"]
    assert set(discord) == {"username", "content"} and alert["title"] in discord["content"]
    assert undelivered(conn) == []
    # delivered once: a later refresh sends nothing again
    with WebhookServer() as again:
        hooks2 = (Webhook("generic", again.url, "json"),)
        assert deliver_pending(conn, _config(hooks=hooks2), NOW).delivered == 0
        assert again.hits == 0


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_failing_webhook_is_reported_and_retried_next_refresh(conn, mode):
    slept: list[float] = []
    with WebhookServer(mode) as bad:
        hooks = (Webhook("desk", bad.url, "slack", deadline_s=0.5, retries=3),)
        _fire_one(conn, hooks)
        report = deliver_pending(conn, _config(hooks=hooks), NOW, sleep=slept.append)
        assert report.delivered == 0 and len(report.failed) == 1
        line = report.failed[0]
        assert "desk" in line and "\n" not in line
        assert ("HTTP 500" in line) if mode == "fail" else ("no answer within 0.5 s" in line)
        assert bad.hits == 3 and slept == [0.5, 1.0]  # retries with backoff
    [(hook, n, attempts, error)] = undelivered(conn)
    assert (hook, n, attempts) == ("desk", 1, 3) and error == line.split(": ", 1)[1]
    with WebhookServer("ok") as good:  # the endpoint is back: the next refresh delivers
        hooks = (Webhook("desk", good.url, "slack"),)
        assert deliver_pending(conn, _config(hooks=hooks), NOW).delivered == 1
        assert len(good.bodies) == 1
    assert undelivered(conn) == []
