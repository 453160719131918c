"""Unexpected errors: one short line plus where the traceback was written.

User mistakes are ConfigError (exit 2, see cli.py); anything else is a bug or an environment
problem, reported as one line pointing at a file with the full traceback (printed as well with
--verbose).
"""

from __future__ import annotations

import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

EXIT_USER_ERROR = 2
EXIT_FAILURE = 1


def write_traceback(exc: BaseException) -> Path:
    """The full traceback in a file under the temp dir; returns its path."""
    folder = Path(tempfile.gettempdir()) / "liqmap"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"error-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.log"
    path.write_text("".join(traceback.format_exception(exc)))
    return path


def internal_error_line(exc: BaseException, log: Path) -> str:
    first = " ".join(str(exc).split())[:300]
    return f"internal error: {type(exc).__name__}: {first} (traceback: {log}; --verbose prints it)"
