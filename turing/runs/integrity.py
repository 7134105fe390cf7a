"""A run folder defends its own integrity: what it recorded is checked before it is used.

Each checkpoint records a digest of ``config.json`` and the metrics rows it covers (their
number and a digest of the header); ``result.json`` records the same for the finished
run. ``--resume``, ``turing plot``, ``turing replay`` and :func:`turing.load` check them and
refuse, in one line that names the file and the fix, a configuration edited after the run
started (another seed, mode, size or genuine value would mix two experiments), a
``metrics.csv`` cut short, deleted or with another header (rows would be lost or
misread), and a checkpoint whose arrays do not fit the run (missing, wrong-shaped, not
finite) before anything in the folder is changed. Only a ``metrics.csv`` longer than its
checkpoint (the rows of generations after it, or a row cut short by a kill) is repaired,
by cutting it back to the checkpoint.

Folders written before these records existed carry none; what can be checked without them
(the number of rows of a finished run) still is.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from turing.errors import UserError
from turing.runs.files import as_written, load_npz
from turing.runs.metrics_file import header_digest, rows_digest
from turing.runs.rundir import RunDir

RECORD = "integrity"
"""The key of ``result.json`` (and of a checkpoint's metadata) holding the records."""


def config_digest(data: Mapping[str, Any]) -> str:
    """A digest of a configuration as JSON (key order and spacing do not matter)."""
    text = json.dumps(json.loads(json.dumps(dict(data))), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def record(
    config: Mapping[str, Any], rows: int, header: list[str] | None, run_dir: RunDir | None = None
) -> dict[str, Any]:
    """What a checkpoint or result.json records of the folder: the digest of config.json,
    and the number, the header and (given the folder) the values of the metrics rows."""
    found = {
        "config_digest": config_digest(config),
        "metrics_rows": int(rows),
        "metrics_header": header_digest(header) if header else None,
    }
    if run_dir is not None:
        found["metrics_digest"] = rows_digest(run_dir.metrics.table()[1][: int(rows)])
    return found


def arrays_digest(arrays: Mapping[str, Any]) -> str:
    """A digest of named arrays (names, dtypes, shapes and values)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{value.dtype.str}|{value.shape}|".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:32]


def result_digest(data: Mapping[str, Any]) -> str:
    """A digest of result.json's contents but its own records (as JSON reads them back)."""
    return config_digest(as_written({k: v for k, v in data.items() if k != RECORD}))


def seal(data: dict[str, Any], populations: Mapping[str, Any], episodes: Mapping[str, Any]) -> None:
    """Adds to ``data``'s records the digests of the populations, the episodes and of
    ``data`` itself (call it last, just before result.json is written)."""
    records = data.setdefault(RECORD, {})
    if populations:
        records["populations_digest"] = arrays_digest(populations)
    if episodes:
        records["episodes_digest"] = arrays_digest(episodes)
    records["result_digest"] = result_digest(data)


def _edited(run_dir: RunDir, where: Path) -> UserError:
    return UserError(
        f"{run_dir.config_path} was changed after the run started (it no longer matches what "
        f"{where.name} recorded): restore the original config.json, or start a new run with "
        "the new settings in another --out folder"
    )


def _lost(run_dir: RunDir, problem: str) -> UserError:
    return UserError(
        f"{run_dir.metrics_path} {problem}: restore metrics.csv from a copy, or start the run "
        "again in a new folder"
    )


def check_metrics(
    run_dir: RunDir, records: Mapping[str, Any], where: Path, exact: bool
) -> tuple[int, bool]:
    """Checks ``metrics.csv`` against ``records`` (of ``where``, a checkpoint or result.json).

    Args:
        exact: the file must hold exactly the recorded rows (a finished run); else it may
            hold more (an interrupted run, repaired on resume).

    Returns:
        ``(rows, longer)``: the complete rows the file holds, and whether it holds more than
        the recorded ones (rows after them, or a last line cut short).

    Raises:
        UserError: for fewer rows than recorded, another header, or rows out of order.
    """
    expected = int(records.get("metrics_rows") or 0)
    header, body, partial = run_dir.metrics.table()
    if expected and not run_dir.metrics.exists():
        raise _lost(run_dir, f"is missing, but {where.name} covers {expected} generations")
    if len(body) < expected:
        raise _lost(
            run_dir,
            f"holds {len(body)} generations, but {where.name} covers {expected}: rows were lost",
        )
    if exact and len(body) > expected:
        raise _lost(run_dir, f"holds {len(body)} generations, but the run recorded {expected}")
    recorded = records.get("metrics_header")
    if expected and recorded and header_digest(header) != recorded:
        raise _lost(run_dir, "has another header than the one the run wrote")
    digest = records.get("metrics_digest")
    if digest is not None and rows_digest(body[:expected]) != digest:
        raise _lost(
            run_dir,
            f"holds other values than the run wrote in its first {expected} rows (an edited "
            "value)",
        )
    if expected and "generation" in header:
        column = header.index("generation")
        for k, row in enumerate(body[:expected]):
            if row[column] != str(k):
                raise _lost(
                    run_dir, f"line {k + 2} is generation {row[column]!r} where {k} was written"
                )
    return len(body), len(body) > expected or partial


def check_checkpoint(
    run_dir: RunDir,
    config: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    where: Path,
    fresh: tuple[Mapping[str, np.ndarray], Mapping[str, Any]],
    parameters: int,
    generations: int,
) -> int:
    """Checks a checkpoint against the folder and the run before it is loaded.

    Args:
        config: the stored config.json.
        arrays, meta: the checkpoint.
        where: its path (for messages).
        fresh: a new method's ``state()``: every array it holds must be in the checkpoint
            with the same shape, and finite; every metadata key too.
        parameters: the system's parameters (columns of the best-model history).
        generations: the run's generations.

    Returns:
        the checkpoint's generation.

    Raises:
        UserError: one line naming the checkpoint (or config.json) and the fix.
    """
    fix = "delete it to resume from the one before, or start the run again in a new folder"
    records = meta.get(RECORD)
    if isinstance(records, Mapping) and records.get("config_digest") not in (
        None,
        config_digest(config),
    ):
        raise _edited(run_dir, where)
    generation = meta.get("generation")
    if isinstance(generation, bool) or not isinstance(generation, int):
        raise UserError(f"{where} does not say its generation; the checkpoint is damaged: {fix}")
    if not 0 <= generation <= generations:
        raise UserError(
            f"{where} is at generation {generation}, outside the run's 0..{generations}; "
            f"the checkpoint is damaged or of another run: {fix}"
        )
    elapsed = meta.get("elapsed_seconds")
    if not isinstance(elapsed, int | float) or not math.isfinite(elapsed):
        raise UserError(f"{where} has no valid elapsed_seconds; the checkpoint is damaged: {fix}")
    expected = {"best_history": (generation, parameters)}
    fresh_arrays, fresh_meta = fresh
    expected.update({k: np.shape(v) for k, v in fresh_arrays.items()})
    dtypes = {k: np.asarray(v).dtype for k, v in fresh_arrays.items()}
    dtypes["best_history"] = np.dtype(np.float64)
    check_kinds(where, {k: arrays[k] for k in expected if k in arrays}, dtypes, fix)
    for name, shape in expected.items():
        if name not in arrays:
            raise UserError(f"{where} lacks the array {name!r}; the checkpoint is damaged: {fix}")
        value = np.asarray(arrays[name])
        if value.shape != tuple(shape) and not (name == "best_history" and generation == 0):
            raise UserError(
                f"{where}: {name} has shape {value.shape}, the run needs {tuple(shape)}; "
                f"the checkpoint is damaged or of another run: {fix}"
            )
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            raise UserError(
                f"{where}: {name} holds NaN or infinite values, which no run writes; the "
                f"checkpoint is damaged: {fix}"
            )
    missing = sorted(set(fresh_meta) - set(meta))
    if missing:
        raise UserError(f"{where} lacks {', '.join(missing)}; the checkpoint is damaged: {fix}")
    if isinstance(records, Mapping) and int(records.get("metrics_rows") or 0) != generation:
        raise UserError(f"{where} contradicts itself (rows vs generation); it is damaged: {fix}")
    return generation


def check_kinds(
    where: Path, arrays: Mapping[str, np.ndarray], dtypes: Mapping[str, np.dtype], fix: str
) -> None:
    """Checks that ``arrays`` have the dtypes a run writes (``dtypes``) and that step sizes
    (``*_sigma``) are positive: a wrong dtype would be cast silently, a negative or zero step
    size would mutate nothing, or the wrong way.

    Raises:
        UserError: naming the file, the array and the fix.
    """
    for name, value in arrays.items():
        value = np.asarray(value)
        wanted = dtypes.get(name)
        if wanted is not None and value.dtype != wanted:
            raise UserError(
                f"{where}: {name} is {value.dtype}, a run writes {wanted}; the file is damaged "
                f"or was edited: {fix}"
            )
        if name.endswith("sigma") and value.dtype.kind == "f" and value.size:
            if not bool(np.all(value > 0)):  # NaN is caught where finiteness is checked
                if not bool(np.all(np.isfinite(value))):
                    continue
                raise UserError(
                    f"{where}: {name} holds step sizes of {float(value.min()):g}, and a run's are "
                    f"positive; the file is damaged or was edited: {fix}"
                )


def check_result(run_dir: RunDir, config: Mapping[str, Any], data: Any) -> dict[str, Any]:
    """Checks ``result.json`` (its shape, and the folder against what it recorded).

    Raises:
        UserError: one line naming the file and the fix.
    """
    fix = (
        "the run folder is damaged: delete result.json and finish the run again with "
        f"`turing run --resume {run_dir.path}`"
    )
    where = run_dir.result_path
    if not isinstance(data, dict):
        raise UserError(f"{where} holds a JSON {type(data).__name__}, not a run's result; {fix}")
    kinds = {
        "system": str,
        "mode": str,
        "seed": int,
        "generations": int,
        "true_params": dict,
        "estimates": dict,
        "abs_error": dict,
    }
    for key, kind in kinds.items():
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            raise UserError(f"{where}: {key!r} is missing or not a {kind.__name__}; {fix}")
    for key in ("estimates", "abs_error"):
        for name in ("best", "top10_median", "last50_median"):
            if not isinstance(data[key].get(name), dict):
                raise UserError(f"{where}: {key}.{name} is missing or not an object; {fix}")
    records = data.get(RECORD)
    if isinstance(records, Mapping) and records.get("config_digest") not in (
        None,
        config_digest(config),
    ):
        raise _edited(run_dir, where)
    records = dict(records) if isinstance(records, Mapping) else {}
    if records.get("result_digest") not in (None, result_digest(data)):
        raise UserError(
            f"{where} was edited after the run finished (its values differ from those the run "
            f"recorded); {fix}"
        )
    records.setdefault("metrics_rows", data["generations"])
    check_metrics(run_dir, records, where, exact=True)
    for name, recorded in (("populations", records.get("populations_digest")),
                           ("episodes", records.get("episodes_digest"))):  # fmt: skip
        if recorded is not None:
            check_arrays_file(run_dir, name, recorded, fix)
    return data


def check_arrays_file(run_dir: RunDir, name: str, recorded: str, fix: str) -> None:
    """Checks ``populations.npz`` or ``episodes/final.npz`` against the digest result.json
    recorded of it (another run's file, or an edited one, is refused)."""
    path = run_dir.path / "populations.npz" if name == "populations" else run_dir.episodes_dir / "final.npz"
    arrays = load_npz(path, fix)
    if arrays_digest(arrays) != recorded:
        raise UserError(
            f"{path} is not the file this run wrote (its arrays differ from what result.json "
            f"recorded: another run's, or edited); {fix}"
        )


def check_unfinished(run_dir: RunDir, config: Mapping[str, Any]) -> None:
    """Checks an unfinished run's folder against its latest checkpoint (for readers such as
    ``turing plot``, which change nothing).

    Raises:
        UserError: for an edited config.json, or a metrics.csv shorter than the checkpoint.
    """
    loaded = run_dir.load_checkpoint()
    if loaded is None:
        return
    _, meta = loaded
    where = run_dir.checkpoints()[-1]
    records = meta.get(RECORD)
    if not isinstance(records, Mapping):
        return
    if records.get("config_digest") not in (None, config_digest(config)):
        raise _edited(run_dir, where)
    check_metrics(run_dir, records, where, exact=False)
