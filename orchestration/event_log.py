"""Dagster's SQLite event log, writing a batch of asset events in one transaction per shard.

A single-run backfill stores one ASSET_MATERIALIZATION_PLANNED and one ASSET_MATERIALIZATION
event per asset and partition (the demo year: ~14k events). Dagster's SQLite storage writes
each event on its own: a new engine, a connection, a commit and a WAL checkpoint on the run's
shard and again on the index shard, ~8 ms of CPU and more of waiting per event. Dagster hands
those events over as batches when DAGSTER_EVENT_BATCH_SIZE is set (one batch per output and
per run's plan), but the SQLite storage stores a batch event by event. This subclass stores a
batch of asset events in one transaction on the run shard and one on the index shard: the
same rows, in the same order, as event-by-event storage (partition status in the UI, asset
records and event tags are unchanged); any other event is stored by Dagster's own code.

Configured in orchestration/dagster.yaml (`event_log_storage`), so `liqmap run`, the daemon,
the webserver and every run worker use it; it sets DAGSTER_EVENT_BATCH_SIZE (unless set) for
the process that loads it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import dagster._check as check
from dagster import Field, StringSource
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.event_api import EventLogEntry
from dagster._core.events import ASSET_EVENTS
from dagster._core.storage.event_log.schema import AssetKeyTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._serdes import ConfigurableClassData

#: events per batch Dagster hands over (the rest of a batch follows in the next one)
BATCH_SIZE = "1000"
BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"


#: Dagster's own (private) SqliteEventLogStorage methods the batched path calls; a Dagster
#: release without one of them gets Dagster's event-by-event storage instead of an error.
_DAGSTER_METHODS = (
    "prepare_insert_event",
    "run_connection",
    "index_transaction",
    "_store_asset_event_tags",
    "_has_asset_key_index_cols_on_connection",
    "_get_asset_entry_values",
)


def _batchable(event: EventLogEntry) -> bool:
    """An asset event (materialization, observation, planned) that names its asset."""
    dagster_event = event.dagster_event
    return (
        dagster_event is not None
        and event.dagster_event_type in ASSET_EVENTS
        and dagster_event.asset_key is not None
    )


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage (run-sharded, under `base_dir`, default
    $DAGSTER_HOME/history/runs like Dagster's own) whose `store_event_batch` stores a run of
    asset events in one transaction per shard instead of two per event."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        os.environ.setdefault(BATCH_ENV, BATCH_SIZE)
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls) -> Mapping[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> BatchedSqliteEventLogStorage:
        base_dir = config_value.get("base_dir")
        if not base_dir:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise DagsterInvariantViolationError(
                    "event_log_storage BatchedSqliteEventLogStorage: no base_dir and no "
                    "DAGSTER_HOME; expected one of them to name the event log folder"
                )
            base_dir = os.path.join(home, "history", "runs")
        return cls(base_dir, inst_data=inst_data)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Consecutive asset events of one run in one transaction per shard; any other event
        on its own, in order."""
        check.sequence_param(events, "events", EventLogEntry)
        if not all(hasattr(self, name) for name in _DAGSTER_METHODS):
            super().store_event_batch(events)
            return
        group: list[EventLogEntry] = []
        for event in events:
            if _batchable(event) and (not group or group[0].run_id == event.run_id):
                group.append(event)
                continue
            self._store_asset_events(group)
            group = []
            if _batchable(event):
                group.append(event)
            else:
                self.store_event(event)
        self._store_asset_events(group)

    def _store_asset_events(self, events: Sequence[EventLogEntry]) -> None:
        """What `store_event` does for each asset event, with one commit per shard: the event
        row in the run's shard, then in the index shard its row, its indexed tags and its
        asset's record, event after event."""
        if not events:
            return
        if len(events) == 1:
            self.store_event(events[0])
            return
        with self.run_connection(events[0].run_id) as conn:
            for event in events:
                conn.execute(self.prepare_insert_event(event))
        with self.index_transaction() as conn:
            event_ids = []
            for event in events:
                with db_result(conn, self.prepare_insert_event(event)) as result:
                    event_ids.append(result.inserted_primary_key[0])
            if any(event_id is None for event_id in event_ids):
                raise DagsterInvariantViolationError(
                    "Cannot store asset event tags for null event id."
                )
            self._store_asset_event_tags(conn, events, event_ids)
            index_cols = self._has_asset_key_index_cols_on_connection(conn)
            for event, event_id in zip(events, event_ids, strict=True):
                self._store_asset_record(conn, event, event_id, index_cols)

    def _store_asset_record(self, conn, event: EventLogEntry, event_id: int, index_cols: bool):
        """`_store_asset_event` with the schema probe done once per batch."""
        values = self._get_asset_entry_values(event, event_id, index_cols)
        if not values:
            return
        key = event.get_dagster_event().asset_key.to_string()
        updated = conn.execute(
            AssetKeyTable.update().values(**values).where(AssetKeyTable.c.asset_key == key)
        )
        if updated.rowcount == 0:
            conn.execute(AssetKeyTable.insert().values(asset_key=key, **values))
