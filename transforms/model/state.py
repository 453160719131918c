"""Model state at a bar boundary, and `advance`: continue a market's model over later bars.

A day costs a day (DESIGN v3 §1): instead of re-running the model over a market's whole
history, a run loads the state at the end of the last bar it covered and advances it over
the new bars only. The same function serves the daily run (one day of bars) and an intraday
refresh (the bars of one hour): the boundary can be any bar.

API (for the marts and for the hourly nowcast)::

    state = MarketState.empty()                      # before the first bar (from scratch)
    state, step = advance(state, bars, params, brackets, scenarios)
    step.runs["base"]     # ModelRun over `bars` (carried cohorts have start == -1)
    step.days             # day-level columns for each UTC day of `bars` (index = day_ns)
    step.moves            # swings confirmed in `bars` plus the running one (moves.MOVE_COLUMNS)
    blob = pack(state.rows())   # bytes per row: one per scenario and one 'context'

`advance(advance(s, a), b)` equals `advance(s, a + b)` exactly: same cohorts, closing factor,
liquidations, day metrics and swings (see cohorts.py, context.py, moves.py for how each
keeps the floating-point operations of one run). Outputs computed from the runs (grids,
at-risk sums) may differ in the last bits when the snapshot sets differ; the marts tests
hold chained, range and from-scratch builds equal within 1e-9 relative.

If the previous chunk ended inside a UTC day (an hourly step), the next chunk's day metrics
for that day are recomputed whole from the carry (context.day_context).

A scenario's carry can also be stored as its change from an earlier carry of the same market
(`rows(bases)`, `from_rows(rows, bases)`): a day keeps most of the cohorts alive the day
before (the cohorts' arrays never change while they live) and opens a day's worth, so a
state one day after its base is a few percent of a whole one. Exact by construction:
`carry_delta` gives up (the carry is stored whole) unless the kept cohorts' arrays are bit for
bit the base's.

`pack` / `unpack` give a deterministic byte form (a JSON header, then the raw little-endian
arrays compressed with zstd): the same state always gives the same bytes, so its sha256
identifies it. Compression is lossless (exactness is the contract) and cuts a year's state
about threefold: cohorts opened at the same bar share start time, entry and log F, and the
side and level columns are runs.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from transforms.model.bars import BarArrays
from transforms.model.cohorts import ModelCarry, ModelRun, run_model
from transforms.model.context import ContextCarry, day_context
from transforms.model.moves import ZigzagCarry, moves
from transforms.model.params import ModelParams
from transforms.model.scenarios import scenario_params

BASE_SCENARIO = "base"  # the scenario whose row holds the arrays the others share
CONTEXT = "context"  # the row name of a market's day-level running quantities
SAME_AS = "same_as"  # a scenario row's field stored in another scenario's row (rows())
DELTA = "delta"  # a scalar field of a scenario row stored as its change from a base carry
#: per-cohort arrays of a carry (ModelCarry), in its canonical cohort order
COHORT_FIELDS = ("start_ts", "side", "level", "entry", "lp", "n0", "log_f_open")
_MAGIC = b"LIQMAP-STATE-2\n"  # body zstd-compressed
_MAGIC_V1 = b"LIQMAP-STATE-1\n"  # body raw (states written before compression; still read)
_ZSTD_LEVEL = 3


@dataclass
class MarketState:
    """A market's model state at the end of a bar: each scenario's carried cohorts and the
    day-level running quantities (context, zigzag, cumulative modelled liquidations of the
    base scenario, last open-interest value)."""

    carries: dict[str, ModelCarry] = field(default_factory=dict)
    context: ContextCarry = field(default_factory=ContextCarry)
    zigzag: ZigzagCarry = field(default_factory=lambda: ZigzagCarry(3))
    cum_liq: tuple[float, float] = (0.0, 0.0)
    oi_value_last: float = float("nan")
    #: the aggregate's: each venue's cumulative liquidations (long, short) at the last bar
    venue_cum: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> MarketState:
        return cls()

    @property
    def last_ts(self) -> int:
        """Open time of the last bar seen (-1 before the first)."""
        return max([c.last_ts for c in self.carries.values()] or [-1])

    def rows(self, bases: Mapping[str, ModelCarry] | None = None) -> dict[str, dict[str, Any]]:
        """scenario (and 'context') -> packable fields. With `bases` (scenario -> an earlier
        carry of this market), a scenario's carry is its change from its base where
        `carry_delta` can say it (`from_rows` needs the same bases). The scenarios share most
        per-cohort arrays (the same cohorts open and die in each; only the sizes and the
        closing differ): an array bit for bit equal to the first scenario's is stored there
        only, the others name it (`{"same_as": scenario}`, resolved by `from_rows`). The
        scenarios are taken in one order whatever order the carries were made or loaded in
        (`_canonical`), so the same state always gives the same bytes."""
        out = {}
        first: tuple[ModelCarry, ModelCarry, Any] | None = None  # a match to reuse
        for sc in _canonical(self.carries):
            c = self.carries[sc]
            base = (bases or {}).get(sc)
            delta = None
            if base is not None:
                # the scenarios carry the same cohorts: matched once, checked in each
                same = first is not None and all(
                    _same_bits(getattr(c, k), getattr(first[0], k))
                    and _same_bits(getattr(base, k), getattr(first[1], k))
                    for k in ("start_ts", "side", "level")
                )
                match = first[2] if same and first is not None else _match(c, base)
                first = first or (c, base, match)
                delta = carry_delta(c, base, match)
            out[sc] = delta if delta is not None else _fields(c)
        if out:
            owner, *others = out
            for sc in others:
                for key, v in out[sc].items():
                    if _same_bits(v, out[owner].get(key)):
                        out[sc][key] = {SAME_AS: owner}
        ctx = {f"ctx_{k}": v for k, v in _fields(self.context).items()}
        zz = {f"zz_{k}": v for k, v in _fields(self.zigzag).items()}
        out[CONTEXT] = {
            **ctx,
            **zz,
            "cum_long": self.cum_liq[0],
            "cum_short": self.cum_liq[1],
            "oi_value_last": self.oi_value_last,
            "venue_cum": {v: list(c) for v, c in self.venue_cum.items()},
        }
        return out

    @classmethod
    def from_rows(
        cls,
        rows: Mapping[str, Mapping[str, Any]],
        bases: Mapping[str, ModelCarry] | None = None,
    ) -> MarketState:
        """The state `rows(bases)` gave (ValueError when a delta row has no base, or does not
        fit it)."""
        ctx = dict(rows[CONTEXT])
        context = ContextCarry(**{k[4:]: v for k, v in ctx.items() if k.startswith("ctx_")})
        zigzag = ZigzagCarry(**{k[3:]: v for k, v in ctx.items() if k.startswith("zz_")})
        carries = {}
        places: dict[bytes, tuple[np.ndarray, ...]] = {}  # shared by the scenarios
        for sc in rows:
            if sc == CONTEXT:
                continue
            fields = _resolve(rows, sc)
            if fields.pop(DELTA, False):
                base = (bases or {}).get(sc)
                if base is None:
                    raise ValueError(f"{sc} is stored as a change from a state not given")
                carries[sc] = carry_from_delta(fields, base, places)
            else:
                carries[sc] = ModelCarry(**fields)
        return cls(
            carries,
            context,
            zigzag,
            (float(ctx["cum_long"]), float(ctx["cum_short"])),
            float(ctx["oi_value_last"]),
            {v: (float(c[0]), float(c[1])) for v, c in dict(ctx["venue_cum"]).items()},
        )


def _cohort_keys(carry: ModelCarry) -> np.ndarray | None:
    """One int64 per cohort, increasing in canonical order (long before short, then level,
    then opening second), or None when the carry's order is not that."""
    group = (1 - carry.side.astype(np.int64)) * 256 + carry.level.astype(np.int64)
    keys = group * (1 << 40) + carry.start_ts // 1_000_000_000
    return keys if len(keys) < 2 or bool(np.all(keys[1:] > keys[:-1])) else None


def _match(carry: ModelCarry, base: ModelCarry) -> tuple[np.ndarray, np.ndarray] | None:
    """(keep, kept_at): the base's cohorts found in `carry`, and where they stand there."""
    kc, kb = _cohort_keys(carry), _cohort_keys(base)
    if kc is None or kb is None or len(kc) == 0 or len(kb) == 0:  # nothing to match
        return None
    pos = np.minimum(np.searchsorted(kb, kc), len(kb) - 1)
    kept_at = kb[pos] == kc
    keep = np.zeros(len(kb), dtype=bool)
    keep[pos[kept_at]] = True
    return keep, kept_at


def carry_delta(
    carry: ModelCarry,
    base: ModelCarry,
    match: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any] | None:
    """`carry` as its change from `base` (an earlier carry of the same market and scenario):
    which of the base's cohorts are still in (`keep`, one bit each), where they stand among
    the carry's (`kept_at`), and the arrays of the others (`add_<field>`); None when that
    would not give `carry` back bit for bit (a kept cohort's arrays differ, or the order
    moved) or would save little (most cohorts new). A cohort is known by its side, level and
    opening time (one cohort of each per bar); `match`: `_match(carry, base)` when known."""
    if carry.n_cohorts == 0 or base.n_cohorts == 0:
        return None
    match = match if match is not None else _match(carry, base)
    if match is None:
        return None
    keep, kept_at = match
    if len(keep) != base.n_cohorts or len(kept_at) != carry.n_cohorts:
        return None
    if int(kept_at.sum()) * 2 < carry.n_cohorts:
        return None
    for name in COHORT_FIELDS:  # exactness: what the base gives back is what the carry has
        if not _same_bits(getattr(carry, name)[kept_at], getattr(base, name)[keep]):
            return None
    out: dict[str, Any] = {
        DELTA: True,
        "keep": np.packbits(keep),
        "kept_at": np.packbits(kept_at),
        "n_base": base.n_cohorts,
        "n": carry.n_cohorts,
        "log_f_end": carry.log_f_end,
        "oi_last": carry.oi_last,
        "last_ts": carry.last_ts,
    }
    for name in COHORT_FIELDS:
        out[f"add_{name}"] = getattr(carry, name)[~kept_at]
    return out


def carry_from_delta(
    fields: Mapping[str, Any],
    base: ModelCarry,
    places: dict[bytes, tuple[np.ndarray, ...]] | None = None,
) -> ModelCarry:
    """The carry `carry_delta(carry, base)` described; ValueError when `fields` do not fit
    `base` (another base, or a damaged row). `places`: the kept cohorts' positions already
    read from some `keep`/`kept_at` bits (the scenarios share them)."""
    n, m = int(fields["n"]), int(fields["n_base"])
    if m != base.n_cohorts:
        raise ValueError(f"a change from a state of {m} cohorts, given {base.n_cohorts}")
    keep_bits = np.asarray(fields["keep"], dtype=np.uint8)
    at_bits = np.asarray(fields["kept_at"], dtype=np.uint8)
    key = f"{m}|{n}|".encode() + keep_bits.tobytes() + b"|" + at_bits.tobytes()
    got = places.get(key) if places is not None else None
    if got is None:
        keep = np.unpackbits(keep_bits, count=m).astype(bool)
        at = np.unpackbits(at_bits, count=n).astype(bool)
        if int(keep.sum()) != int(at.sum()):
            raise ValueError("a change whose kept cohorts do not match")
        got = (np.flatnonzero(keep), np.flatnonzero(at), np.flatnonzero(~at))
        if places is not None:
            places[key] = got
    src, dst, new = got
    arrays = {}
    for name in COHORT_FIELDS:
        from_base = getattr(base, name)
        added = np.asarray(fields[f"add_{name}"])
        if len(added) != len(new) or added.dtype != from_base.dtype:
            raise ValueError(f"a change whose {name} does not fit its base")
        out = np.empty(n, dtype=from_base.dtype)
        out[dst] = from_base[src]
        out[new] = added
        arrays[name] = out
    return ModelCarry(
        **arrays,
        log_f_end=float(fields["log_f_end"]),
        oi_last=float(fields["oi_last"]),
        last_ts=int(fields["last_ts"]),
    )


def _fields(obj: Any) -> dict[str, Any]:
    """A dataclass's fields, not copied (dataclasses.asdict deep-copies every array; the
    rows are only packed)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def _same_bits(a: Any, b: Any) -> bool:
    """Both numpy arrays of one dtype and shape with the same bytes (-0.0 is not 0.0)."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return bool(np.array_equal(a.view(np.uint8), b.view(np.uint8))) if a.size else True


def _resolve(rows: Mapping[str, Mapping[str, Any]], scenario: str) -> dict[str, Any]:
    """A scenario row's fields with the arrays it shares taken from the row it names (a
    copy: each carry owns its arrays); ValueError when that row has no such array."""
    out = {}
    for key, v in rows[scenario].items():
        if isinstance(v, Mapping):
            owner = rows.get(v.get(SAME_AS), {})
            got = owner.get(key)
            if not isinstance(got, np.ndarray):
                raise ValueError(f"{scenario}.{key} names no stored array ({v})")
            v = got.copy()
        out[key] = v
    return out


def _canonical(scenarios: Iterable[str]) -> list[str]:
    """The order a state's scenarios are stored in: the base scenario first (the one the
    others' shared arrays name), the rest by name. A state loaded from rows fetched in any
    order, or advanced over a differently ordered scenario list, packs to the same bytes."""
    return sorted(scenarios, key=lambda sc: (sc != BASE_SCENARIO, sc))


@dataclass
class MarketStep:
    """What `advance` computed over its bars."""

    bars: BarArrays
    runs: dict[str, ModelRun]
    days: pd.DataFrame
    moves: pd.DataFrame


def advance(
    state: MarketState,
    bars: pd.DataFrame | BarArrays,
    params: ModelParams,
    brackets: pd.DataFrame,
    scenarios: Sequence[str],
) -> tuple[MarketState, MarketStep]:
    """Continue `state` over `bars` (all later than its last bar) for each scenario of
    `params`; scenarios with equal parameters share one run."""
    carry0 = state.carries.get(scenarios[0]) if scenarios else None
    if isinstance(bars, BarArrays):
        b = bars
    else:
        prev = None
        if carry0 is not None:
            prev = (carry0.oi_last, state.oi_value_last)
        b = BarArrays.from_frame(bars, prev)
    runs: dict[str, ModelRun] = {}
    by_hash: dict[str, ModelRun] = {}
    for sc in scenarios:
        p = scenario_params(params, sc)
        h = p.params_hash()
        if h not in by_hash:
            by_hash[h] = run_model(b, p, brackets, state.carries.get(sc))
        runs[sc] = by_hash[h]
    return _step(state, b, runs, params)


def state_at(
    state: MarketState, step: MarketStep, params: ModelParams, k: int
) -> tuple[MarketState, MarketStep]:
    """What `advance(state, step.bars.head(k), ...)` gives, `step` being `advance(state,
    bars, ...)`: the state at the end of the step's bar k - 1, taken from the step's runs
    (`ModelRun.carry_at`, `ModelRun.head`) instead of running the model again; bit for bit
    the same (tests/test_model_state.py). The step returned holds the base run's head only
    (what the day rows, swings and an aggregate read)."""
    runs = step.runs
    base = runs["base"] if "base" in runs else next(iter(runs.values()))
    carries = {sc: run.carry_at(k) for sc, run in runs.items()}
    return _step(state, step.bars.head(k), {"base": base.head(k)}, params, carries)


def _step(
    state: MarketState,
    b: BarArrays,
    runs: dict[str, ModelRun],
    params: ModelParams,
    carries: dict[str, ModelCarry] | None = None,
) -> tuple[MarketState, MarketStep]:
    """The state after `b` and the step over it, from the runs of its scenarios (or their
    carries, given)."""
    base = runs["base"] if "base" in runs else next(iter(runs.values()))
    days, context = day_context(b, params, state.context)
    swings, zigzag, cum = moves(base, state.zigzag, state.cum_liq)
    oi_value_last = float(b.oi_value[-1]) if b.n else state.oi_value_last
    if carries is None:
        carries = {sc: r.carry() for sc, r in runs.items()}
    new = MarketState(carries, context, zigzag, cum, oi_value_last)
    return new, MarketStep(b, runs, days, swings)


# ------------------------------------------------------------------ deterministic bytes


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        return float(v)
    if isinstance(v, (np.integer, int, bool, np.bool_)):
        return v.item() if hasattr(v, "item") else v
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    return v


def pack(fields: Mapping[str, Any]) -> bytes:
    """Fields (numpy arrays or JSON scalars) as bytes: magic, header length, JSON header
    (sorted keys), then each array's raw little-endian bytes in key order."""
    header: dict[str, Any] = {"arrays": [], "scalars": {}}
    chunks = []
    offset = 0
    for key in sorted(fields):
        v = fields[key]
        if isinstance(v, np.ndarray):
            a = np.ascontiguousarray(v)
            a = a.astype(a.dtype.newbyteorder("<"), copy=False)
            raw = a.tobytes()
            header["arrays"].append([key, a.dtype.str, list(a.shape), offset, len(raw)])
            chunks.append(raw)
            offset += len(raw)
        else:
            header["scalars"][key] = _jsonable(v)
    body = b"".join(chunks)
    header["body"] = len(body)
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    packed = pa.Codec("zstd", _ZSTD_LEVEL).compress(body, asbytes=True) if body else b""
    return _MAGIC + struct.pack("<Q", len(head)) + head + packed


def unpack(blob: bytes) -> dict[str, Any]:
    """The fields `pack` wrote; ValueError when the bytes are not a whole state."""
    magic = next((m for m in (_MAGIC, _MAGIC_V1) if blob.startswith(m)), None)
    if magic is None or len(blob) < len(magic) + 8:
        raise ValueError("not a liqmap model state")
    (n,) = struct.unpack_from("<Q", blob, len(magic))
    start = len(magic) + 8
    if start + n > len(blob):
        raise ValueError("truncated model state")
    head = json.loads(blob[start : start + n])
    body = memoryview(blob)[start + n :]
    if magic == _MAGIC and head["body"]:
        try:
            body = memoryview(
                pa.Codec("zstd").decompress(body, decompressed_size=head["body"], asbytes=True)
            )
        except (pa.ArrowException, OSError) as exc:
            raise ValueError(f"truncated model state ({exc})") from None
    out: dict[str, Any] = dict(head["scalars"])
    for key, dtype, shape, offset, size in head["arrays"]:
        if offset + size > len(body):
            raise ValueError("truncated model state")
        out[key] = np.frombuffer(body[offset : offset + size], dtype=dtype).reshape(shape).copy()
    for key, v in out.items():
        if isinstance(v, list):
            out[key] = tuple(v)
    return out
