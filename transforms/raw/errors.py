"""Errors every venue's source raises, so the shared ingest loop can tell them apart."""

from __future__ import annotations


class SourceError(Exception):
    """Data could not be obtained or verified; the message names the file, page or day."""


class NotYetPublished(SourceError):
    """The venue has no such file or day yet (HTTP 404 / missing in the mirror): retry later."""


class WaitingForArchive(NotYetPublished):
    """A daily file of the window is not published yet: the window must wait (retry later)."""

    def __init__(self, cause: NotYetPublished, period: str):
        super().__init__(str(cause))
        self.period = period


class VenuesFailed(SourceError):
    """Every configured venue failed for the window (each failure was logged)."""
