"""Publish layer: the read-only warehouse snapshot and mart exports (the site is reports/)."""

from transforms.publish.snapshot import Publication, publish_snapshot, remove_stale_snapshot_temps

__all__ = ["Publication", "publish_snapshot", "remove_stale_snapshot_temps"]
