"""Publish layer: the read-only warehouse snapshot and mart exports (the site is reports/)."""

from transforms.publish.snapshot import (
    export_marts,
    publish_snapshot,
    remove_stale_snapshot_temps,
)

__all__ = ["export_marts", "publish_snapshot", "remove_stale_snapshot_temps"]
