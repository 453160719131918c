"""`liqmap run`: the whole chain for a date range as one in-process Dagster run.

Dagster's event stream goes to a log file (or also to the console with --verbose); the same
events, read as structured records, drive per-stage statistics for the console display.
"""

from __future__ import annotations

import gc
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from transforms.config import Settings
from transforms.progress import ProgressUpdate, subscribe

# Stages in pipeline order; each is one asset group (orchestration/assets/<group>.py).
STAGE_ORDER = ("raw", "staging", "marts", "publish")
STAGE_OF_GROUP = {group: group for group in STAGE_ORDER}
LOG_FORMAT = "%(asctime)s - %(levelname)s - %(message)s"
# --verbose: Dagster's console logger at DEBUG, i.e. every event, as before this CLI.
LOGGER_CONFIG = {"console": {"config": {"log_level": "DEBUG"}}}
#: materialization metadata naming what a successful step could not load
PROBLEM_METADATA = ("failed_venues", "waiting_symbols", "rejected_files")


@dataclass
class StageStats:
    """What one stage did: steps, days, files (raw), rows, time, failures."""

    name: str
    steps: set[str] = field(default_factory=set)
    days: int = 0
    steps_done: int = 0
    files_total: int = 0
    files_done: dict[str, int] = field(default_factory=dict)
    rows_by_asset: dict[str, int] = field(default_factory=dict)
    pages_by_asset: dict[str, int] = field(default_factory=dict)
    started: float | None = None
    finished: float | None = None
    failures: list[str] = field(default_factory=list)
    #: what a step that succeeded could not do (a venue failed, a symbol waits): `partial`
    problems: list[str] = field(default_factory=list)
    #: set when the run has ended: a stage that never finished was interrupted or not run
    ended: str | None = None

    @property
    def rows(self) -> int:
        return sum(self.rows_by_asset.values())

    @property
    def pages(self) -> int:
        return sum(self.pages_by_asset.values())

    @property
    def unit(self) -> str:
        return "files" if self.files_total else "days"

    @property
    def total(self) -> int:
        return self.files_total or self.days

    @property
    def completed(self) -> int:
        """Files fetched (raw), else days covered by every step of the stage so far."""
        if self.files_total:
            return min(sum(self.files_done.values()), self.files_total)
        return self.days * self.steps_done // max(len(self.steps), 1)

    @property
    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.perf_counter()) - self.started

    @property
    def state(self) -> str:
        """pending/running while the run goes; at its end done, partial (a venue or symbol
        could not be loaded), failed, interrupted, incomplete (steps skipped) or not run."""
        complete = self.steps_done >= len(self.steps) and not self.failures
        if complete and self.finished is not None:
            return "partial" if self.problems else "done"
        if self.ended == "interrupted" and self.started is not None:
            return "interrupted"
        if self.failures:
            return "failed"
        if self.ended is not None:
            return self.ended if self.started is not None else "not run"
        return "running" if self.started is not None else "pending"

    def end(self, how: str) -> None:
        """The run is over: a stage still running was `how` (interrupted, incomplete)."""
        self.ended = how
        if self.started is not None and self.finished is None:
            self.finished = time.perf_counter()


@dataclass
class RunOutcome:
    success: bool
    run_id: str | None
    start: date
    end: date
    stages: list[StageStats]
    failures: list[str]
    log_path: Path
    seconds: float
    #: the stop signal that ended the run (SIGINT, SIGTERM), None when it ran to its end
    interrupted_by: int | None = None


def _silence_dagster_warnings() -> None:
    """Beta/preview notices (backfill_policy etc.) are for Dagster authors, not liqmap users."""
    import dagster as dg

    for category in (dg.BetaWarning, dg.PreviewWarning):
        warnings.filterwarnings("ignore", category=category)
    supersession = getattr(dg, "SupersessionWarning", None)
    if supersession is not None:
        warnings.filterwarnings("ignore", category=supersession)


def _error_line(error) -> str:
    """The innermost user error of a step failure, as one line."""
    while error is not None and error.cause is not None and "Dagster" in (error.cls_name or ""):
        error = error.cause
    if error is None:
        return "unknown error"
    text = (error.message or error.cls_name or "error").strip()
    return text.splitlines()[0] if text else "error"


def _interrupted(error) -> bool:
    """A step failure that is Dagster's way of saying SIGINT/SIGTERM stopped the step."""
    while error is not None:
        if error.cls_name in ("DagsterExecutionInterruptedError", "KeyboardInterrupt"):
            return True
        error = error.cause
    return False


def _failed_check_lines(evaluation) -> list[str]:
    """A failed ERROR check as summary lines: its description, then each detail line (the
    quality gates name the rejected file, rule and line there)."""
    if evaluation is None or evaluation.passed or evaluation.severity.value != "ERROR":
        return []
    detail = evaluation.metadata.get("detail")
    lines = str(detail.value).splitlines() if detail is not None else []
    head = f"{evaluation.check_name}: {evaluation.description or 'failed'}"
    return [head, *(f"  {line}" for line in lines[:10])]


class _EventSink(logging.Handler):
    """Reads Dagster's structured records and updates the stage statistics."""

    def __init__(self, stage_of_step: dict[str, str], stages: dict[str, StageStats], notify):
        super().__init__(level=logging.DEBUG)
        self.stage_of_step = stage_of_step
        self.stages = stages
        self.notify = notify
        self.failures: list[str] = []
        self.current: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        kind = event.event_type_value
        step = event.step_key
        stage = self.stages.get(self.stage_of_step.get(step or "", ""))
        if kind == "STEP_START" and stage is not None:
            self.current = stage.name
            if stage.started is None:
                stage.started = time.perf_counter()
        elif kind == "STEP_SUCCESS" and stage is not None:
            stage.steps_done += 1
            if stage.steps_done >= len(stage.steps):
                stage.finished = time.perf_counter()
        elif kind == "STEP_FAILURE" and _interrupted(event.step_failure_data.error):
            if stage is not None:
                stage.end("interrupted")
        elif kind == "STEP_FAILURE":
            line = f"{step}: {_error_line(event.step_failure_data.error)}"
            self.failures.append(line)
            if stage is not None:
                stage.failures.append(line)
                stage.finished = time.perf_counter()
        elif kind == "ASSET_CHECK_EVALUATION":
            self.failures.extend(_failed_check_lines(event.event_specific_data))
        elif kind == "RUN_FAILURE" and not self.failures:
            data = event.event_specific_data
            error = getattr(data, "error", None)
            self.failures.append(_error_line(error) if error else event.message or "run failed")
        elif kind == "ASSET_MATERIALIZATION" and stage is not None:
            # A range run emits one materialization per partition, each with the run's
            # metadata: count an asset's figures once.
            asset = event.asset_key.to_user_string() if event.asset_key else str(step)
            metadata = event.event_specific_data.materialization.metadata
            rows = [
                int(v.value or 0)
                for k, v in metadata.items()
                if k == "rows" or k.startswith("rows_")
            ]
            if rows:
                stage.rows_by_asset[asset] = sum(rows)
            for key in PROBLEM_METADATA:
                value = metadata.get(key)
                text = str(value.value) if value is not None else "none"
                line = f"{asset}: {text}"
                if text != "none" and line not in stage.problems:
                    stage.problems.append(line)
            if "pages_written" in metadata:
                stage.pages_by_asset[asset] = int(metadata["pages_written"].value or 0)
        else:
            return
        self.notify()

    def on_progress(self, update: ProgressUpdate) -> None:
        stage = self.stages.get(self.current or "")
        if stage is not None and stage.files_total:
            stage.files_done[update.label] = update.done
            self.notify()


def _logger_def(handler: logging.Handler, name: str):
    import dagster as dg

    def build(_init_context) -> logging.Logger:
        logger = logging.Logger(name, level=logging.DEBUG)
        logger.addHandler(handler)
        return logger

    return dg.LoggerDefinition(build, description=f"liqmap CLI: {name}")


def _raw_files_total(settings: Settings, start: date, end: date, raw_steps: int) -> int:
    """Files or day pages the raw stage fetches, per symbol, as each venue's package counts
    them (transforms.raw.packages.planned_fetches)."""
    from transforms.raw.packages import planned_fetches
    from transforms.raw.tables import TABLES

    after = end + timedelta(days=1)
    total = sum(planned_fetches(v, d, start, after) for v in settings.venues for d in TABLES)
    return total * len(settings.symbols) if raw_steps else 0


def run_chain(
    settings: Settings,
    start: date,
    end: date,
    log_path: Path,
    *,
    verbose: bool = False,
    on_change: Callable[[list[StageStats]], None] | None = None,
    from_scratch: bool = False,
    stopped_by: Callable[[], int | None] = lambda: None,
    freeze_heap: bool = False,
) -> RunOutcome:
    """Materialize every asset for [start, end] as one run; the event log goes to `log_path`.
    `from_scratch`: model every market from its first bar, ignoring the stored model state.
    `stopped_by` tells which stop signal (if any) the run received (orchestration.interrupts).
    `freeze_heap` (a process that ends with the run, `liqmap run`): everything imported and
    built before the run starts is moved out of the cyclic garbage collector's reach
    (gc.freeze), so its full collections during the run do not walk Dagster's, pandas' and
    DuckDB's ~1M import-time objects again and again (~0.4 s CPU of a 1-day run)."""
    _silence_dagster_warnings()
    import dagster as dg

    from orchestration.definitions import ALL_ASSETS
    from orchestration.resources import resources_from_settings

    stage_of_step: dict[str, str] = {}
    stages = {name: StageStats(name) for name in STAGE_ORDER}
    days = (end - start).days + 1
    for assets_def in ALL_ASSETS:
        groups = set(assets_def.group_names_by_key.values())
        group = next(iter(groups), "default")
        name = STAGE_OF_GROUP.get(group, group)
        stage = stages.setdefault(name, StageStats(name))
        stage.steps.add(assets_def.node_def.name)
        stage.days = days
        stage_of_step[assets_def.node_def.name] = name
    raw = stages["raw"]
    raw.files_total = _raw_files_total(settings, start, end, len(raw.steps))
    ordered = [s for s in stages.values() if s.steps]

    def notify() -> None:
        if on_change is None:
            return
        try:
            on_change(ordered)
        except Exception:  # a display glitch must never fail a step
            logging.getLogger("liqmap.display").debug("display update failed", exc_info=True)

    log_path.parent.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(log_path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    sink = _EventSink(stage_of_step, stages, notify)
    loggers = {"liqmap_file": _logger_def(file_handler, "dagster")}
    loggers["liqmap_progress"] = _logger_def(sink, "liqmap.progress")
    if verbose:
        loggers["console"] = dg.colored_console_logger
    job = dg.define_asset_job("liqmap_cli_run", selection=dg.AssetSelection.all())
    defs = dg.Definitions(
        assets=ALL_ASSETS,
        jobs=[job],
        resources=resources_from_settings(settings),
        loggers=loggers,
        executor=dg.in_process_executor,
    )
    job_def = defs.resolve_job_def("liqmap_cli_run")
    unsubscribe = subscribe(sink.on_progress)
    instance: dg.DagsterInstance | None = None
    started = time.perf_counter()
    try:
        instance = dg.DagsterInstance.get()
        if freeze_heap:
            gc.freeze()
        result = job_def.execute_in_process(
            run_config={
                "loggers": {key: LOGGER_CONFIG.get(key, {}) for key in loggers},
                **(
                    {"ops": {"liquidation_model": {"config": {"from_scratch": True}}}}
                    if from_scratch
                    else {}
                ),
            },
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": start.isoformat(),
                "dagster/asset_partition_range_end": end.isoformat(),
                "liqmap/trigger": "cli",
            },
            raise_on_error=False,
        )
    finally:
        unsubscribe()
        file_handler.close()
        if instance is not None:  # its SQLite connections closed now, not whenever GC runs
            instance.dispose()
    signum = stopped_by()
    failures = [] if signum else list(sink.failures)
    for stage in ordered:
        stage.end("interrupted" if signum else "incomplete")
    for stage in ordered:
        failures += [p for p in stage.problems if p not in failures]
    if not result.success and not failures and not signum:
        failures.append("the run failed; see the log")
    return RunOutcome(
        success=result.success,
        run_id=result.run_id,
        start=start,
        end=end,
        stages=ordered,
        failures=failures,
        log_path=log_path,
        seconds=time.perf_counter() - started,
        interrupted_by=signum,
    )
