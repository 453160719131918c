"""Time formats for the report. Every number format is in reports.notation (one path)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(d: datetime) -> str:
    """A timestamp as ISO 8601 UTC with a Z, to the second (naive means UTC)."""
    if d.tzinfo is not None:
        d = d.astimezone(UTC).replace(tzinfo=None)
    return d.replace(microsecond=0).isoformat() + "Z"


def fmt_times(x: float | None) -> str:
    """A multiple: 4.12 → '4.1×', 25 → '25×', 73308 → '73,308×'."""
    if not ok(x) or x <= 0:
        return "n/a"
    return f"{x:,.0f}×" if x >= 9.95 else f"{x:.1f}×"


def fmt_corr(x: float | None) -> str:
    """A correlation coefficient: 0.623 → '+0.62', −0.1 → '−0.10'."""
    if not ok(x):
        return "n/a"
    return f"{x:+.2f}".replace("-", "−")
