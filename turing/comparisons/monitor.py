"""The progress of a comparison: one bar over all cells' generations (read from each
running cell's ``metrics.csv``, so it works for every executor without a channel from the
workers), the per-cell messages, ``log.csv``, and the comparison folder's lock."""

from __future__ import annotations

import contextlib
import csv
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from turing.comparisons.cells import Cell
from turing.errors import UserError
from turing.runs import rundir

POLL_SECONDS = 1.0
"""How often progress is read from the run folders."""


class Monitor:
    """The progress bar over all cells' generations, the per-cell messages, and ``log.csv``.

    Generations are counted from each running cell's ``metrics.csv``, so the bar moves for
    every executor without any channel from the workers.

    Args:
        folder: the comparison folder (``log.csv`` goes there).
        label: the bar's label.
        generations: the budget of each cell of this run of the comparison, by name.
        todo: the cells not finished yet.
        progress: show the bar and the messages.
    """

    def __init__(
        self,
        folder: Path,
        label: str,
        generations: Mapping[str, int],
        todo: list[Cell],
        progress: bool,
    ):
        self.path = Path(folder)
        self.generations = dict(generations)
        self.total_cells = len(generations)
        self.done = len(generations) - len(todo)
        self.failed_count = 0
        self.running: dict[str, Cell] = {}
        # Generations done per cell; a resumed cell truncates its metrics to its checkpoint,
        # so the total may step back.
        self.rows = dict(self.generations)
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=sum(self.generations.values()),
                desc=label,
                unit="gen",
                file=sys.stderr,
                dynamic_ncols=True,
            )
        resumed = sum(1 for c in todo if c.status == "partial")
        self.note(
            f"{self.total_cells} cells: {self.done} finished (skipped), {resumed} to resume, "
            f"{len(todo) - resumed} to start"
        )
        for cell in todo:
            self.rows[cell.name] = _metrics_rows(cell.path)
        self._refresh()

    def queued(self, cell: Cell) -> None:
        self.running[cell.name] = cell

    @contextlib.contextmanager
    def polling(self):
        """Polls in a background thread while the body runs."""
        if self.bar is None:
            yield
            return
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(POLL_SECONDS):
                self.poll()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def poll(self) -> None:
        for cell in list(self.running.values()):
            self.rows[cell.name] = _metrics_rows(cell.path)
        self._refresh()

    def finished(self, cell: Cell, info: Mapping[str, Any]) -> None:
        self.running.pop(cell.name, None)
        self.done += 1
        self.rows[cell.name] = self.generations[cell.name]
        self._log(cell, "finished", info)
        resumed = (
            f", resumed at generation {info['start_generation']}"
            if info.get("start_generation")
            else ""
        )
        self.note(f"finished {cell.name} in {info['seconds']:.1f} s{resumed}")
        self._refresh()

    def failed(self, cell: Cell, message: str) -> None:
        self.running.pop(cell.name, None)
        self.failed_count += 1
        self._log(cell, "failed", {"error": message})
        self.note(f"FAILED {cell.name}: {message}")
        self._refresh()

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(f"turing compare: {text}", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self._refresh()
            self.bar.close()
            self.bar = None

    def _refresh(self) -> None:
        if self.bar is None:
            return
        self.bar.n = sum(min(r, self.generations[k]) for k, r in self.rows.items())
        failed = f", {self.failed_count} failed" if self.failed_count else ""
        self.bar.set_postfix_str(
            f"cells {self.done}/{self.total_cells} done, {len(self.running)} queued/running{failed}"
        )

    def _log(self, cell: Cell, event: str, info: Mapping[str, Any]) -> None:
        path = self.path / "log.csv"
        new = not path.exists()
        with path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(
                    ["time", "cell", "event", "host", "pid", "start_generation", "seconds", "error"]
                )
            writer.writerow(
                [
                    time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    cell.name,
                    event,
                    info.get("host", ""),
                    info.get("pid", ""),
                    info.get("start_generation", ""),
                    f"{info['seconds']:.3f}" if "seconds" in info else "",
                    info.get("error", ""),
                ]
            )


def _metrics_rows(path: Path) -> int:
    try:
        data = (path / "metrics.csv").read_bytes()
    except OSError:
        return 0
    return max(0, data.count(b"\n") - 1)


class FolderLock(rundir.FolderLock):
    """An exclusive lock on a comparison folder, so that two processes never run the same
    cells at once (released by the OS if the process dies)."""

    def __init__(self, path: Path):
        super().__init__(
            path,
            f"another `turing compare` is running in {path}; wait for it to finish, or stop "
            "it (its finished cells are kept)",
        )


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (
        f"{type(exc).__name__}: {text[-1] if text else ''}"
        if not isinstance(exc, UserError)
        else text[0]
    )
