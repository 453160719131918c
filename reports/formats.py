"""Time formats for the report. Every number format is in reports.notation (one path)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(d: datetime) -> str:
    """A timestamp as ISO 8601 UTC with a Z, to the second (naive means UTC)."""
    if d.tzinfo is not None:
        d = d.astimezone(UTC).replace(tzinfo=None)
    return d.replace(microsecond=0).isoformat() + "Z"
