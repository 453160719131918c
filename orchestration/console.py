"""What `liqmap` prints: live per-stage progress on a terminal, a few plain lines elsewhere.

On a terminal, rich draws one progress bar per stage (done/total days or files, rows,
rows/s, elapsed, ETA). Without one (CI, pipes, `make demo | tee`), each stage prints one line
when it finishes: no control codes, no redraws.
"""

from __future__ import annotations

import sys
import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from orchestration.runner import RunOutcome, StageStats

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _rate(stage: StageStats) -> str:
    if not stage.rows or stage.seconds <= 0:
        return ""
    return f"{stage.rows / stage.seconds:,.0f} rows/s"


class RunDisplay:
    """Receives stage statistics (from the run's thread) and shows them."""

    def __init__(self, console: Console = out):
        self.console = console
        self.live = console.is_terminal
        self._printed: set[str] = set()
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._progress: Progress | None = None
        self._planning: TaskID | None = None
        if self.live:
            self._progress = Progress(
                TextColumn("{task.description:<8}"),
                BarColumn(bar_width=12),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]:<5}"),
                TextColumn("{task.fields[rows]:>10} rows"),
                TextColumn("{task.fields[rate]:>14}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )

    def __enter__(self) -> RunDisplay:
        # Before the first step Dagster records one planned event per asset and day in its
        # event log (about a minute for a year): say so instead of sitting silent.
        if self._progress is not None:
            self._progress.start()
            self._planning = self._progress.add_task(
                "plan", total=None, unit="", rows="-", rate="Dagster planning"
            )
        else:
            self.console.print("  plan     Dagster records the planned run (a year: ~1 min)")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, stages: list[StageStats]) -> None:
        with self._lock:
            if self._progress is not None:
                self._update_live(stages)
            else:
                self._update_plain(stages)

    def _update_live(self, stages: list[StageStats]) -> None:
        assert self._progress is not None
        if self._planning is not None and any(s.started is not None for s in stages):
            self._progress.remove_task(self._planning)
            self._planning = None
        for stage in stages:
            fields = {"unit": stage.unit, "rows": _fmt_int(stage.rows), "rate": _rate(stage)}
            task = self._tasks.get(stage.name)
            if task is None:
                if stage.started is None:
                    continue
                task = self._progress.add_task(stage.name, total=stage.total, **fields)
                self._tasks[stage.name] = task
            self._progress.update(task, completed=stage.completed, **fields)
            if stage.finished is not None and stage.name not in self._printed:
                self._printed.add(stage.name)
                if not stage.failures:
                    self._progress.update(task, completed=stage.total)
                self._progress.stop_task(task)

    def _update_plain(self, stages: list[StageStats]) -> None:
        for stage in stages:
            if stage.finished is None or stage.name in self._printed:
                continue
            self._printed.add(stage.name)
            self.console.print(
                f"  {stage.name:<8} {stage.state:<6} {stage.completed}/{stage.total} "
                f"{stage.unit}, {_fmt_int(stage.rows)} rows in {stage.seconds:.1f}s"
            )


def print_summary(outcome: RunOutcome, site_index: str, snapshot: str) -> None:
    """Per stage days, rows, seconds; where the results are; what failed and why."""
    table = Table(title=None, show_edge=False, pad_edge=False, box=None)
    for column in ("stage", "days", "rows", "seconds", "result"):
        table.add_column(column, justify="left" if column in ("stage", "result") else "right")
    for stage in outcome.stages:
        extra = f" ({stage.pages} pages)" if stage.pages else ""
        table.add_row(
            stage.name,
            str(stage.days),
            _fmt_int(stage.rows),
            f"{stage.seconds:.1f}",
            stage.state + extra,
        )
    out.print(table)
    if outcome.interrupted_by:
        err.print(
            f"stopped by signal {outcome.interrupted_by} after {outcome.seconds:.0f}s; "
            "nothing half-written is kept, a re-run continues",
            soft_wrap=True,
        )
    elif outcome.success:
        out.print(f"done in {outcome.seconds:.0f}s. Site: {site_index}", soft_wrap=True)
        out.print(f"Snapshot for `liqmap query`: {snapshot}", soft_wrap=True)
        for line in outcome.failures[:5]:
            err.print(f"incomplete: {line}", soft_wrap=True)
    else:
        for line in outcome.failures[:5]:
            err.print(f"failed: {line}", soft_wrap=True)
    out.print(f"Dagster event log: {outcome.log_path}", soft_wrap=True)


def error_line(message: str) -> None:
    """One line on stderr, never wrapped (tests and users grep it)."""
    sys.stderr.write(f"liqmap: error: {' '.join(message.split())}\n")
    sys.stderr.flush()
