"""A run continued from its latest checkpoint (``turing run --resume``).

The checkpoint is checked against the folder before anything is loaded
(:mod:`turing.runs.integrity`): its generation, arrays and records, and the metrics rows it
covers. A checkpoint written before genuine trials were counted (no ``genuine_used``) is
given the count its generations used.
"""

from __future__ import annotations

import numpy as np

from turing.errors import UserError
from turing.runs.integrity import RECORD, check_checkpoint, check_metrics


def restore(runner) -> None:
    """Restores ``runner`` (a :class:`turing.runs.runner.Runner`) from its folder's latest
    checkpoint; the folder is checked against it first, and changed (a longer metrics.csv
    cut back, stale temporary files removed) only after."""
    loaded = runner.run_dir.load_checkpoint()
    if loaded is None:
        rows = len(runner.run_dir.metrics.table()[1])
        if rows:
            raise UserError(
                f"{runner.run_dir.checkpoint_dir} holds no checkpoint, but metrics.csv holds "
                f"{rows} generations: the checkpoints were deleted; restore them, or start "
                "the run again in a new folder"
            )
        runner.run_dir.remove_stale_temporaries()
        runner.run_dir.truncate_metrics(0)
        return
    arrays, meta = loaded
    where = runner.run_dir.checkpoints()[-1]
    generation = check_checkpoint(
        runner.run_dir, runner.stored_config, arrays, meta, where, runner.method.state(),
        len(runner.system.parameters), runner.config.generations,
    )  # fmt: skip
    records = meta.get(RECORD) if isinstance(meta.get(RECORD), dict) else {}
    _, longer = check_metrics(
        runner.run_dir,
        {
            "metrics_rows": generation,
            "metrics_header": records.get("metrics_header"),
            "metrics_digest": records.get("metrics_digest"),
        },
        where,
        exact=False,
    )
    history = np.asarray(arrays.pop("best_history"), dtype=np.float64)
    try:
        runner.method.load_state(arrays, meta)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(
            f"{where} does not fit this run ({type(exc).__name__}: {exc}); the checkpoint "
            "is damaged: delete it to resume from the one before, or start the run again"
        ) from None
    runner.generation = generation
    runner.elapsed = float(meta["elapsed_seconds"])
    used = meta.get("genuine_used")
    if not isinstance(used, dict):  # a checkpoint written before genuine trials were counted
        used = {"training": generation * runner.method.genuine_per_generation()}
    seconds = meta.get("trial_seconds")
    runner.method.trials.load_state(used, seconds if isinstance(seconds, dict) else None)
    runner.best_history = list(history.reshape(generation, -1)) if generation else []
    header = runner.run_dir.metrics.table()[0]
    runner.metrics_header = header if generation and header else None
    runner.run_dir.remove_stale_temporaries()
    if longer:
        runner.run_dir.truncate_metrics(generation)

