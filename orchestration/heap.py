"""A run's imported heap kept out of the garbage collector's full passes.

A run's process starts with ~300k objects made at import (Dagster, pandas, pyarrow, DuckDB's
module, the definitions): each full collection during the run walks all of them (0.15-0.3 s
each on this machine; a daily run of 6 markets triggers one or two) though none of them is
garbage. `freeze` moves them to the permanent generation while the run goes; `thaw` at its end
hands them back to the oldest generation, so a long-lived process (the webserver's code
server, a test session) collects them as before. What the run itself makes is collected as
usual, and a forked model worker does not dirty the pages of frozen objects by collecting
them (Python's gc.freeze documentation).
"""

from __future__ import annotations

import gc


def freeze() -> bool:
    """Freeze every object tracked now; False (nothing done) when some are frozen already:
    `liqmap run` froze its heap for good before the run (orchestration.runner.run_chain)."""
    if gc.get_freeze_count():
        return False
    gc.freeze()
    return True


def thaw(frozen: bool) -> None:
    """Undo `freeze` (when it froze anything): the objects are collectable again."""
    if frozen:
        gc.unfreeze()
