"""The offline demo's venue markets kept on disk and memory-mapped, not held in the process.

A synthetic feed serves a symbol's market (a year of minutes is ~60 MB of arrays) to its
fake server for one ingest at a time. Kept in the process between ingests, the three demo
symbols' markets stayed resident through the whole run, the model stage included (issue 19);
re-simulated for every ingest, each dataset would pay the simulation again. Here a market's
arrays are built once per parameter set into `<root>/<name>-<key>/` (`.npy` files; written
to a temporary folder and renamed, so an interrupted build is redone) and each ingest maps
them read-only: the process holds the pages it serves while it serves them, and a later
process (the next day's run) maps them without simulating.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np


def _key(params: Mapping[str, object]) -> str:
    text = json.dumps(dict(params), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def mapped_arrays(
    root: Path,
    name: str,
    params: Mapping[str, object],
    build: Callable[[], Mapping[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """The arrays `build()` returns for `params`, memory-mapped read-only from `root`.

    `name` (e.g. a symbol) names the folder; a folder of the same name built under other
    parameters is removed when this one is written. `params` must hold everything the
    arrays depend on, a generator version included."""
    root = Path(root)
    folder = root / f"{name}-{_key(params)}"
    if not folder.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        arrays = build()
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
        try:
            for field, values in arrays.items():
                np.save(tmp / f"{field}.npy", np.ascontiguousarray(values), allow_pickle=False)
            tmp.rename(folder)
        except OSError:
            if not folder.is_dir():  # not a concurrent build that finished first
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in root.glob(f"{name}-*"):
            if old != folder and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    return {
        p.stem: np.load(p, mmap_mode="r", allow_pickle=False) for p in sorted(folder.glob("*.npy"))
    }
