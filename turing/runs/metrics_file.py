"""``metrics.csv``: one row per generation, appended as a run goes and read back whole.

Rows are appended and flushed at once; :meth:`MetricsFile.sync` forces them onto the disk
before a checkpoint that counts them is written, so a power loss cannot leave a checkpoint
that covers rows the file lost. A last line without its newline (a kill during an append)
is not a row: reading skips it and resuming cuts it off. Anything else that does not read
as the run wrote it (a folder in the file's place, bytes that are not text, a row in the
middle with the wrong number of fields) is one :class:`~turing.errors.UserError` naming the
file, never a traceback.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from turing.errors import UserError


def format_value(value: Any) -> str:
    if isinstance(value, float | np.floating):
        # repr round-trips exactly, so a resumed run's rows compare bit for bit.
        return repr(float(value))
    return str(value)


def header_digest(header: list[str]) -> str:
    """A short digest of the column names (what a checkpoint records of the header)."""
    return hashlib.sha256(",".join(header).encode()).hexdigest()[:16]


def rows_digest(rows: list[list[str]]) -> str:
    """A digest of rows as they read back (every value's text): what a checkpoint and
    ``result.json`` record of the rows they cover, so that an edited value is noticed."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update("\x1f".join(row).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()[:32]


MAX_BYTES = 2**30
"""A metrics.csv larger than this is not a run's (10^6 generations of case study 2 write
about 500 MB); refused rather than read into memory."""


class MetricsFile:
    """The ``metrics.csv`` of a run folder.

    Args:
        path: the file.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._header: list[str] | None = None
        """The columns rows are written in (the file's header, once known)."""

    def exists(self) -> bool:
        return self.path.exists() or self.path.is_symlink()

    def _damaged(self, problem: str) -> UserError:
        return UserError(
            f"{self.path} {problem}; the run folder is damaged: restore metrics.csv from a "
            "copy, or start the run again in a new folder"
        )

    def _bytes(self) -> bytes:
        if not self.exists():
            return b""
        if not self.path.is_file():
            raise self._damaged("is not a file")
        try:
            if self.path.stat().st_size > MAX_BYTES:
                raise self._damaged(f"is larger than {MAX_BYTES / 2**30:g} GiB, which no run writes")
            return self.path.read_bytes()
        except OSError as exc:
            raise self._damaged(f"cannot be read ({exc.strerror})") from None

    def table(self) -> tuple[list[str], list[list[str]], bool]:
        """``(header, rows, partial)``: the column names, every complete row, and whether a
        last line was cut short (``partial``; it is not among the rows)."""
        data = self._bytes()
        partial = bool(data) and not data.endswith(b"\n")
        if partial:
            data = data[: data.rfind(b"\n") + 1]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self._damaged("is not text") from None
        try:
            rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as exc:
            raise self._damaged(f"is not CSV ({exc})") from None
        if not rows:
            return [], [], partial
        header, body = rows[0], rows[1:]
        for k, row in enumerate(body):
            if len(row) != len(header):
                raise self._damaged(
                    f"line {k + 2} has {len(row)} fields where the header has {len(header)}"
                )
        return header, body, partial

    def rows(self) -> list[dict[str, str]]:
        """Every complete row, as column name -> text."""
        header, body, _ = self.table()
        return [dict(zip(header, row, strict=True)) for row in body]

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns as float arrays (non-numeric columns as strings)."""
        header, body, _ = self.table()
        columns: dict[str, np.ndarray] = {}
        for k, name in enumerate(header):
            values = [row[k] for row in body]
            try:
                columns[name] = np.array([float(v) if v != "" else np.nan for v in values])
            except ValueError:
                columns[name] = np.array(values)
        return columns if body else {}

    def append(self, row: Mapping[str, Any]) -> None:
        """Appends one row (the header first if the file is new), flushed.

        A file that already has a header keeps it: the row is written in its columns, so a
        run started by a version with fewer columns continues with the rows it would have
        written (columns added since are left out, columns since removed are empty)."""
        new = not self.exists() or self.path.stat().st_size == 0
        if new:
            self._header = list(row)
        elif self._header is None:
            self._header = self.table()[0]
        values = [row.get(name, "") for name in self._header]
        # Never through a link (see turing.runs.files.refuse_links).
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(self.path, flags, 0o666), "a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(self._header)
            writer.writerow([format_value(v) for v in values])
            handle.flush()

    def sync(self) -> None:
        """Forces the appended rows onto the disk."""
        if not self.path.is_file():
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def truncate(self, rows: int, write) -> None:
        """Keeps the header and the first ``rows`` rows (none: the file is removed), written
        with ``write(path, bytes)`` (atomically)."""
        if not self.exists():
            return
        if rows == 0:
            self.path.unlink()
            return
        header, body, _ = self.table()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(body[:rows])
        write(self.path, buffer.getvalue().encode())
