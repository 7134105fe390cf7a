"""The faults outside the first fuzz list (issue 19): a full disk, read-only file systems,
names too long, a run folder moved or removed while it is written, links and bombs in run
folders someone sends you, special files as outputs, edited contents, values a run cannot
survive, and processes (killed parents, interrupted start-ups).

Each case still ends in one line, exit status 2 (130 for an interrupt), no traceback, no
hang; "nothing changed" becomes "nothing lost" where the fault strikes a run that was
writing: the folder it leaves continues, with ``--resume`` or the same command once the
fault is gone, to exactly the rows an uninterrupted run writes. Cases that need root (file
systems mounted for the case, device nodes) are skipped, with the reason, where it is not.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

SYSTEM = "agent-inference"
SIZES = ("--models", "4", "--interrogators", "4", "--steps", "20", "--c2st-trials", "0")
CLI = (sys.executable, "-c", "import sys; from turing.cli import main; sys.exit(main())")
LONG = "x" * 300
"""A name longer than any file system allows (255 bytes)."""


# ---------------------------------------------------------------------------- mounts
def can_mount() -> bool:
    """Whether this process may mount a tmpfs (root, with the capability)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = Path(f"/tmp/turing-fuzz-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                              capture_output=True)  # fmt: skip
        if done.returncode:
            return False
        subprocess.run(["umount", str(probe)], capture_output=True)
        return True
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount(where: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(where)], check=True)


# ---------------------------------------------------------------------------- references
_REFERENCES: dict[tuple[str, ...], list[list[str]]] = {}


def metrics_rows(folder: Path) -> list[list[str]]:
    """metrics.csv without its wall-time columns."""
    lines = (folder / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if "seconds" not in name]
    return [[line.split(",")[i] for i in keep] for line in lines]


def reference_rows(argv: tuple[str, ...], scratch: Path) -> list[list[str]]:
    """The rows of an uninterrupted ``turing run`` of ``argv`` (cached)."""
    if argv not in _REFERENCES:
        out = scratch / "reference"
        shutil.rmtree(out, ignore_errors=True)
        done = subprocess.run([*CLI, *argv, "--out", str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        _REFERENCES[argv] = metrics_rows(out)
        shutil.rmtree(out, ignore_errors=True)
    return _REFERENCES[argv]


def continues(folder: Path, argv: tuple[str, ...], scratch: Path) -> list[str]:
    """Problems of continuing ``folder`` (``--resume``, or the same command where the fault
    struck before the run began) against an uninterrupted run of ``argv``."""
    if (folder / "config.json").exists():
        command = ["run", "--resume", str(folder)]
    else:
        command = [*argv, "--out", str(folder)]
    done = subprocess.run([*CLI, *command], capture_output=True, text=True)
    if done.returncode != 0:
        return [f"continuing failed ({done.returncode}): {done.stderr.strip()[-200:]}"]
    if metrics_rows(folder) != reference_rows(argv, scratch):
        return ["continued rows differ from an uninterrupted run's"]
    return []


# ---------------------------------------------------------------------------- run folders
def _outside(folder: Path) -> Path:
    """A folder next to the run folder, inside the case's workspace (so that the fuzz's
    snapshot sees any change to it)."""
    outside = folder.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "precious.txt").write_text("a file of the user's\n")
    return outside


def _link(name: str, kind: str = "copy") -> Callable[[Path], None]:
    """Replaces ``name`` in the run folder by a symbolic link to outside: to a copy of it
    (``copy``, with decoys a cleanup would delete), or to a path that does not exist."""

    def damage(folder: Path) -> None:
        outside = _outside(folder)
        target = folder / name
        moved = outside / f"linked-{name.strip('.')}"
        if kind == "copy" and (target.exists() or target.is_symlink()):
            shutil.move(str(target), moved)
            if moved.is_dir():
                (moved / ".stale.tmp").write_text("a decoy")
                (moved / "gen-000000.npz").write_bytes(b"a decoy checkpoint")
        elif target.exists() or target.is_symlink():
            target.unlink() if not target.is_dir() else shutil.rmtree(target)
        target.symlink_to(os.path.relpath(moved, folder))

    return damage


def _hard_link_metrics(folder: Path) -> None:
    outside = _outside(folder)
    os.link(folder / "metrics.csv", outside / "metrics-hard-link.csv")


def _bomb(name: str, gib: float = 1.1) -> Callable[[Path], None]:
    """Replaces the NPZ ``name`` by one whose member inflates to ``gib`` GiB (a few MB on
    disk: zeros compress a thousandfold)."""

    def damage(folder: Path) -> None:
        from numpy.lib import format as npy

        target = _resolve(folder, name)
        count = int(gib * 2**27)  # float64 values
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            with archive.open("model_genes.npy", "w", force_zip64=True) as member:
                npy.write_array_header_1_0(
                    member, {"descr": "<f8", "fortran_order": False, "shape": (count,)}
                )
                chunk = bytes(2**24)
                for _ in range(count * 8 // len(chunk)):
                    member.write(chunk)

    return damage


def _liar(name: str) -> Callable[[Path], None]:
    """An NPZ whose array header declares 10^12 values and holds a few."""

    def damage(folder: Path) -> None:
        from numpy.lib import format as npy

        target = _resolve(folder, name)
        with zipfile.ZipFile(target, "w") as archive:
            with archive.open("model_genes.npy", "w") as member:
                npy.write_array_header_1_0(
                    member, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
                )
                member.write(bytes(64))

    return damage


def _resolve(folder: Path, name: str) -> Path:
    if name == "CHECKPOINT":
        return sorted((folder / "checkpoints").glob("gen-*.npz"))[-1]
    return folder / name


def _edit_arrays(name: str, edit: Callable[[dict[str, np.ndarray]], None]):
    def change(folder: Path) -> None:
        target = _resolve(folder, name)
        with np.load(target, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        edit(arrays)
        target.unlink()
        with open(target, "wb") as handle:
            np.savez(handle, **arrays)

    return change


def _as(key: str, dtype) -> Callable[[dict[str, np.ndarray]], None]:
    def edit(arrays: dict[str, np.ndarray]) -> None:
        arrays[key] = arrays[key].astype(dtype)

    return edit


def _scaled(key: str, factor: float, offset: float = 0.0):
    def edit(arrays: dict[str, np.ndarray]) -> None:
        arrays[key] = arrays[key] * factor + offset

    return edit


def _edit_metrics_value(folder: Path) -> None:
    lines = (folder / "metrics.csv").read_text().splitlines(keepends=True)
    cells = lines[1].split(",")
    column = next(k for k, c in enumerate(cells) if k and "." in c)
    cells[column] = repr(float(cells[column]) + 0.125)
    lines[1] = ",".join(cells) + ("" if cells[-1].endswith("\n") else "\n")
    (folder / "metrics.csv").write_text("".join(lines))


def _edit_estimate(folder: Path) -> None:
    data = json.loads((folder / "result.json").read_text())
    name = next(iter(data["estimates"]["top10_median"]))
    data["estimates"]["top10_median"][name] = 0.5
    (folder / "result.json").write_text(json.dumps(data, indent=2))


FIXTURES: dict[str, Path] = {}
"""The fixture folders (set by ``tests/fuzz.py``'s ``build_fixtures``)."""


def _from_other(name: str) -> Callable[[Path], None]:
    """``name`` from the finished run of another seed (fixture ``other``)."""

    def damage(folder: Path) -> None:
        shutil.copyfile(FIXTURES["other"] / name, folder / name)

    return damage


# ---------------------------------------------------------------------------- special files
def _special(name: str, kind: str) -> Callable[[Path], None]:
    """Creates ``name`` next to the run folder as a FIFO, a device node (a null device, inside
    the workspace), a socket, or a link to a device node."""

    def damage(folder: Path) -> None:
        path = folder.parent / name
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "device":
            os.mknod(path, 0o666 | 0o020000, os.makedev(1, 3))
        elif kind == "socket":
            server = socket.socket(socket.AF_UNIX)
            server.bind(str(path))
            server.close()
        elif kind == "link-to-device":
            os.mknod(folder.parent / "node", 0o666 | 0o020000, os.makedev(1, 3))
            path.symlink_to("node")

    return damage


# ---------------------------------------------------------------------------- scenarios
def _popen(argv, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, *argv], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _wait_rows(metrics: Path, rows: int, process: subprocess.Popen, timeout=120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) > rows:
            return True
        time.sleep(0.02)
    return False


def _finish(process: subprocess.Popen, timeout: float = 60.0) -> tuple[int | str, str]:
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        return "hang", stderr
    return process.returncode, stderr


RUN_40 = ("run", SYSTEM, *SIZES, "--generations", "40", "--checkpoint-every", "5", "--quiet")


def moved_while_writing(remove: bool):
    """Starts a run, moves (or removes) its folder after a few generations; the run must
    stop in one line without writing at the old path, and (moved) continue where it is now."""

    def scenario(workspace: Path, fixtures: dict) -> tuple[int | str, str, list[str]]:
        folder = workspace / "run"
        process = _popen([*RUN_40, "--out", str(folder)], workspace)
        if not _wait_rows(folder / "metrics.csv", 3, process):
            _finish(process)
            return "ok", "", ["the run ended before the folder could be moved (too fast here)"]
        moved = workspace / "moved"
        if remove:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folder.rename(moved)
        code, stderr = _finish(process)
        problems = []
        # A write in flight while `rm -r` ran may leave its file (rm then says "Directory not
        # empty"); what must never appear at the old path is the run going on there.
        if (folder / "config.json").exists() or (folder / "metrics.csv").exists():
            problems.append("the run went on writing at the old path")
        if not remove and code == 2:
            problems += continues(moved, RUN_40, workspace)
        return code, stderr, problems

    return scenario


def full_disk_mid_run(workspace: Path, fixtures: dict) -> tuple[int | str, str, list[str]]:
    """A run on a small file system that fills up during its generations; once there is
    space again, --resume continues it to exactly the uninterrupted run's rows."""
    argv = ("run", SYSTEM, *SIZES, "--generations", "150", "--checkpoint-every", "2", "--quiet")
    with tmpfs(workspace / "fs", "40k") as fs:
        folder = fs / "run"
        done = subprocess.run([*CLI, *argv, "--out", str(folder)], capture_output=True, text=True)
        copy = workspace / "copy"
        shutil.copytree(folder, copy, symlinks=True)
        rows = (
            len((copy / "metrics.csv").read_text().splitlines()) - 1
            if (copy / "metrics.csv").exists()
            else 0
        )
    problems = (
        [] if 0 < rows < 150 else [f"the disk did not fill during the generations ({rows} rows)"]
    )
    if done.returncode == 2:
        problems += continues(copy, argv, workspace)
    return done.returncode, done.stderr, problems


def interrupt_at_start(signum: int):
    """Interrupts ``turing run`` at several moments of its start-up (importing, checking,
    creating the folder, the first generation): each is one line, and what it leaves
    continues (--resume) or is taken by the same command."""

    argv = ("run", SYSTEM, *SIZES, "--generations", "3", "--quiet")

    def scenario(workspace: Path, fixtures: dict) -> tuple[int | str, str, list[str]]:
        problems, shown = [], ""
        expected = 130 if signum == signal.SIGINT else 143
        command = [str(Path(sys.executable).parent / "turing"), *argv]  # what users run
        for k, delay in enumerate((0.5, 2.0, 4.0)):
            folder = workspace / f"run-{k}"
            process = subprocess.Popen([*command, "--out", str(folder)], cwd=workspace,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
            time.sleep(delay)
            process.send_signal(signum)
            code, stderr = _finish(process)
            lines = [line for line in stderr.splitlines() if line.strip()]
            # Killed by the signal's default action (before Python handles it): no output.
            quiet_kill = code == -signum and not lines
            if code != 0 and not quiet_kill:
                if code not in (expected, -signum) or len(lines) != 1 or "Traceback" in stderr:
                    problems.append(f"at {delay} s: exit {code}, {len(lines)} lines")
                    shown = stderr
            if folder.exists():
                problems += [f"at {delay} s: {p}" for p in continues(folder, argv, workspace)]
        return "ok", shown, problems

    return scenario


def compare_killed(stage: str):
    """SIGKILLs `turing compare` as soon as its workers exist (``start``: they are still
    importing torch) or once they run cells (``cells``): no worker may go on running cells
    as an orphan."""

    argv = ("compare", SYSTEM, "--methods", "interrogate,passive", "--seeds", "2", *SIZES,
            "--generations", "40", "--workers", "2", "--quiet")  # fmt: skip

    def scenario(workspace: Path, fixtures: dict) -> tuple[int | str, str, list[str]]:
        process = _popen([*argv, "--out", str(workspace / "cmp")], workspace)
        deadline, workers = time.monotonic() + 120, []
        while time.monotonic() < deadline and process.poll() is None:
            workers = _workers(process.pid)
            if len(workers) >= 2 and (stage == "start" or _rows(workspace / "cmp") >= 2):
                break
            time.sleep(0.02)
        else:
            process.kill()
            process.wait()
            return "ok", "", [f"the workers did not reach the {stage} stage"]
        process.kill()
        process.wait()
        deadline = time.monotonic() + 30
        alive = list(workers)
        while alive and time.monotonic() < deadline:
            time.sleep(0.5)
            alive = [w for w in alive if _running(w)]
        rows = _rows(workspace / "cmp")
        time.sleep(3)
        problems = []
        if alive:
            problems.append(f"{len(alive)} worker(s) still running 30 s after their parent died")
        if _rows(workspace / "cmp") != rows:
            problems.append("cells went on being written")
        for worker in alive:  # do not leave them behind
            with contextlib.suppress(OSError):
                os.kill(worker, signal.SIGKILL)
        return "ok", "", problems

    return scenario


def _workers(parent: int) -> list[int]:
    """The pool workers of ``parent`` (not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == parent and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def _rows(folder: Path) -> int:
    return sum(
        max(0, len(p.read_text().splitlines()) - 1) for p in folder.glob("runs/*/*/metrics.csv")
    )


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


# ---------------------------------------------------------------------------- environments
@contextlib.contextmanager
def full_file_system(workspace: Path, folder: Path, fill: bool) -> Iterator[dict[str, str]]:
    """A small tmpfs at ``workspace/fs`` holding a copy of the case's folder (``{fs}``),
    filled up (``fill``) or left with 16 KB."""
    with tmpfs(workspace / "fs", "160k" if fill else "16k") as fs:
        if folder.exists():
            shutil.copytree(folder, fs / "folder", symlinks=True)
        if fill:
            with contextlib.suppress(OSError), open(fs / "filler", "wb") as handle:
                while True:
                    handle.write(bytes(4096))
        yield {"fs": str(fs)}


@contextlib.contextmanager
def read_only(workspace: Path, folder: Path) -> Iterator[dict[str, str]]:
    """A read-only file system at ``workspace/fs`` holding a copy of the case's folder:
    a tmpfs remounted read-only (root), or else a tree without write permission."""
    if os.geteuid() == 0:
        with tmpfs(workspace / "fs", "16m") as fs:
            if folder.exists():
                shutil.copytree(folder, fs / "folder", symlinks=True)
            remount(fs, "ro")
            yield {"fs": str(fs)}
        return
    fs = workspace / "fs"
    fs.mkdir()
    if folder.exists():
        shutil.copytree(folder, fs / "folder", symlinks=True)
    for path in [fs, *fs.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        yield {"fs": str(fs)}
    finally:
        for path in [fs, *fs.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)


@contextlib.contextmanager
def enospc_after(calls: int) -> Iterator[dict[str, str]]:
    """In this process, ``os.fsync`` fails with ENOSPC from its ``calls``-th call on (a
    disk that fills up, without mounting one)."""
    original, count = os.fsync, [0]

    def fsync(fd: int) -> None:
        count[0] += 1
        if count[0] >= calls:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        original(fd)

    os.fsync = fsync
    try:
        yield {}
    finally:
        os.fsync = original


# ---------------------------------------------------------------------------- the cases
def fault_cases(Case) -> list:
    """Every case of the classes above, as ``Case`` objects of ``tests/fuzz.py``."""
    found = []
    add = found.append
    run = ("run", SYSTEM, *SIZES, "--generations", "6", "--quiet")

    # Full disks and read-only file systems (mounted: root only).
    def env(make, *args):
        return lambda workspace, folder: make(workspace, folder, *args)

    def freed(workspace: Path, folder: Path, where: dict) -> list[str]:
        remount(Path(where["fs"]), "size=64m")  # space again
        return continues(Path(where["fs"]) / "new", run, workspace)

    add(Case("run on a full disk at start-up", "full disk", (*run, "--out", "{fs}/new"),
             needs="mount", environment=env(full_file_system, False), changes_allowed=True,
             after=freed))  # fmt: skip
    add(Case("run: the disk fills during the generations", "full disk", (), needs="mount",
             scenario=full_disk_mid_run))  # fmt: skip
    # The unfinished fixture: 6 generations, checkpoints every 2, stopped at 4.
    unfinished = ("run", SYSTEM, *SIZES, "--generations", "6", "--checkpoint-every", "2", "--quiet")

    def emptied(workspace: Path, folder: Path, where: dict) -> list[str]:
        (Path(where["fs"]) / "filler").unlink()  # space again
        return continues(Path(where["fs"]) / "folder", unfinished, workspace)

    add(Case("resume on a full disk", "full disk", ("run", "--resume", "{fs}/folder", "--quiet"),
             "unfinished", needs="mount", environment=env(full_file_system, True),
             changes_allowed=True, after=emptied))  # fmt: skip
    add(Case("run: ENOSPC at its first write (injected)", "full disk",
             (*run, "--out", "{new}"), needs="in-process", environment=lambda w, f: enospc_after(1),
             changes_allowed=True,
             after=lambda w, f, where: continues(w / "new", run, w)))  # fmt: skip
    add(Case("run: ENOSPC mid-run (injected)", "full disk",
             ("run", SYSTEM, *SIZES, "--generations", "30", "--checkpoint-every", "2", "--quiet",
              "--out", "{new}"), needs="in-process", environment=lambda w, f: enospc_after(6),
             changes_allowed=True,
             after=lambda w, f, where: continues(w / "new", ("run", SYSTEM, *SIZES, "--generations",
                                                             "30", "--checkpoint-every", "2", "--quiet"), w)))  # fmt: skip
    add(Case("resume: ENOSPC (injected)", "full disk", ("run", "--resume", "{dir}", "--quiet"),
             "unfinished", needs="in-process", environment=lambda w, f: enospc_after(1),
             changes_allowed=True, after=lambda w, f, where: continues(f, unfinished, w)))  # fmt: skip
    for name, argv, folder in (
        ("run --out on a read-only file system", (*run, "--out", "{fs}/new"), None),
        ("resume on a read-only file system", ("run", "--resume", "{fs}/folder"), "unfinished"),
        ("plot on a read-only file system", ("plot", "{fs}/folder"), "finished"),
        ("replay on a read-only file system", ("replay", "{fs}/folder"), "finished"),
        ("compare --out on a read-only file system",
         ("compare", SYSTEM, "--methods", "interrogate", "--seeds", "1", *SIZES,
          "--generations", "2", "--quiet", "--out", "{fs}/cmp"), None),
        ("compare --resume on a read-only file system", ("compare", "--resume", "{fs}/folder",
                                                         "--quiet"), "comparison"),
    ):  # fmt: skip
        add(Case(name, "read-only file systems", argv, folder, environment=read_only))

    # Names and paths too long.
    deep = "/".join(["d" * 200] * 22)  # over 4096 bytes
    for name, argv, folder in (
        ("run --out with a 300-byte name", (*run, "--out", f"{{new}}/{LONG}"), None),
        ("run --out with a path over 4096 bytes", (*run, "--out", f"{{new}}/{deep}"), None),
        ("run --resume with a 300-byte name", ("run", "--resume", f"{{new}}/{LONG}"), None),
        ("replay --figure with a 300-byte name", ("replay", "{dir}", "--figure", f"{LONG}.png"), "finished"),
        ("replay --video with a 300-byte name", ("replay", "{dir}", "--video", f"{LONG}.gif"), "finished"),
        ("compare --out with a 300-byte name",
         ("compare", SYSTEM, "--methods", "interrogate", "--seeds", "1", *SIZES, "--generations",
          "2", "--quiet", "--out", f"{{new}}/{LONG}"), None),
        ("plot a 300-byte name", ("plot", f"{{new}}/{LONG}"), None),
    ):  # fmt: skip
        add(Case(name, "long names and paths", argv, folder))

    # The run folder moved or removed while the run writes it.
    add(Case("run folder moved while the run writes", "folder moved or removed", (),
             scenario=moved_while_writing(remove=False)))  # fmt: skip
    add(Case("run folder removed while the run writes", "folder moved or removed", (),
             scenario=moved_while_writing(remove=True)))  # fmt: skip

    # Links in run folders someone sent you.
    resume, plot = ("run", "--resume", "{dir}"), ("plot", "{dir}")
    replay = ("replay", "{dir}", "--figure", "f.png")
    for name, argv, folder, damage in (
        ("resume: checkpoints/ links outside", resume, "unfinished", _link("checkpoints")),
        ("resume: .lock links to a new file outside", resume, "unfinished", _link(".lock", "missing")),
        ("resume: metrics.csv links outside", resume, "unfinished", _link("metrics.csv")),
        ("resume: config.json links outside", resume, "unfinished", _link("config.json")),
        ("resume: metrics.csv hard-linked outside", resume, "unfinished", _hard_link_metrics),
        ("plot: plots/ links outside", plot, "finished", _link("plots")),
        ("plot: metrics.csv links outside", plot, "finished", _link("metrics.csv")),
        ("plot (unfinished): checkpoints/ links outside", plot, "unfinished", _link("checkpoints")),
        ("replay: plots/ links outside", ("replay", "{dir}"), "finished", _link("plots")),
        ("replay: populations.npz links outside", replay, "finished", _link("populations.npz")),
        ("replay: episodes/ links outside", replay, "finished", _link("episodes")),
        ("compare --resume: runs/ links outside", ("compare", "--resume", "{dir}", "--quiet"),
         "comparison", _link("runs")),
    ):  # fmt: skip
        add(Case(name, "links in run folders", argv, folder, damage))

    # Compressed members that inflate to gigabytes; headers that lie.
    for name, argv, folder, damage in (
        ("resume: a checkpoint inflating to 1.1 GiB", resume, "unfinished", _bomb("CHECKPOINT")),
        ("replay: populations inflating to 1.1 GiB", replay, "finished", _bomb("populations.npz")),
        ("resume: a checkpoint declaring 10^12 values", resume, "unfinished", _liar("CHECKPOINT")),
        (
            "replay: populations declaring 10^12 values",
            replay,
            "finished",
            _liar("populations.npz"),
        ),
    ):
        add(Case(name, "decompression bombs", argv, folder, damage))

    # Genes and step sizes of the wrong dtype or sign.
    ckpt = "CHECKPOINT"
    for name, argv, folder, damage in (
        ("resume: genes as float32", resume, "unfinished", _edit_arrays(ckpt, _as("model_genes", np.float32))),
        ("resume: genes as int64", resume, "unfinished", _edit_arrays(ckpt, _as("model_genes", np.int64))),
        ("resume: interrogator weights as float16", resume, "unfinished",
         _edit_arrays(ckpt, _as("interrogator_genes", np.float16))),
        ("resume: negative model step sizes", resume, "unfinished", _edit_arrays(ckpt, _scaled("model_sigma", -1))),
        ("resume: zero interrogator step sizes", resume, "unfinished",
         _edit_arrays(ckpt, _scaled("interrogator_sigma", 0))),
        ("resume: best history as int64", resume, "unfinished", _edit_arrays(ckpt, _as("best_history", np.int64))),
        ("replay: genes as int64", replay, "finished", _edit_arrays("populations.npz", _as("model_genes", np.int64))),
        ("replay: negative step sizes", replay, "finished",
         _edit_arrays("populations.npz", _scaled("interrogator_sigma", -1))),
        ("replay: genes out of bounds", replay, "finished",
         _edit_arrays("populations.npz", _scaled("model_genes", 1, 5.0))),
    ):  # fmt: skip
        add(Case(name, "wrong dtypes and signs", argv, folder, damage))

    # Special files as outputs.
    for name, argv, folder, damage, needs in (
        ("replay --figure a FIFO", ("replay", "{dir}", "--figure", "{ws}/out.png"), "finished", _special("out.png", "fifo"), ""),
        ("replay --figure a device node", ("replay", "{dir}", "--figure", "{ws}/out.png"), "finished", _special("out.png", "device"), "root"),
        ("replay --figure a link to a device node", ("replay", "{dir}", "--figure", "{ws}/out.png"), "finished", _special("out.png", "link-to-device"), "root"),
        ("replay --figure a socket", ("replay", "{dir}", "--figure", "{ws}/out.png"), "finished", _special("out.png", "socket"), ""),
        ("replay --figure whose .npz is a FIFO", ("replay", "{dir}", "--figure", "{ws}/out.png"), "finished", _special("out.npz", "fifo"), ""),
        ("replay --video a FIFO", ("replay", "{dir}", "--video", "{ws}/out.gif", "--figure", "{ws}/f.png"), "finished", _special("out.gif", "fifo"), ""),
        ("run --out a FIFO", (*run, "--out", "{ws}/out"), "finished", _special("out", "fifo"), ""),
        ("run --out a device node", (*run, "--out", "{ws}/out"), "finished", _special("out", "device"), "root"),
        ("compare --out a FIFO", ("compare", SYSTEM, "--methods", "interrogate", "--seeds", "1", *SIZES, "--quiet", "--out", "{ws}/out"), "finished", _special("out", "fifo"), ""),
    ):  # fmt: skip
        # A FIFO blocks its writer in the kernel (no reader): such cases run as a process.
        add(Case(name, "special files as outputs", argv, folder, damage, needs=needs,
                 isolated="FIFO" in name))  # fmt: skip

    # Contents edited (the integrity records cover them).
    for name, argv, folder, damage in (
        ("resume: a metrics value edited", resume, "unfinished", _edit_metrics_value),
        ("plot (unfinished): a metrics value edited", plot, "unfinished", _edit_metrics_value),
        ("plot: a metrics value edited", plot, "finished", _edit_metrics_value),
        ("plot: a result.json estimate edited", plot, "finished", _edit_estimate),
        ("replay: a result.json estimate edited", replay, "finished", _edit_estimate),
        (
            "replay: populations.npz of another seed",
            replay,
            "finished",
            _from_other("populations.npz"),
        ),
        ("plot: populations.npz of another seed", plot, "finished", _from_other("populations.npz")),
        ("replay: metrics.csv of another seed", replay, "finished", _from_other("metrics.csv")),
    ):
        add(Case(name, "edited contents", argv, folder, damage))

    # Values the parser accepts but a run cannot survive.
    for name, argv in (
        ("run --threads 100000", (*run, "--threads", "100000", "--out", "{new}")),
        ("run --threads 2147483648", (*run, "--threads", "2147483648", "--out", "{new}")),
        ("run --model-sigma-init 1e308", (*run, "--model-sigma-init", "1e308", "--out", "{new}")),
        ("run --interrogator-sigma-init 1e308", (*run, "--interrogator-sigma-init", "1e308", "--out", "{new}")),
        ("compare --threads 100000", ("compare", SYSTEM, "--methods", "interrogate", "--seeds", "1",
                                      *SIZES, "--threads", "100000", "--quiet", "--out", "{new}")),
        ("bench --threads 100000", ("bench", SYSTEM, "--threads", "100000", "--generations", "1", "--runs", "1")),
    ):  # fmt: skip
        add(Case(name, "values a run cannot survive", argv))

    # Processes.
    add(Case("compare SIGKILLed while its workers start", "processes", (), needs="proc",
             scenario=compare_killed("start")))  # fmt: skip
    add(Case("compare SIGKILLed while its workers run cells", "processes", (), needs="proc",
             scenario=compare_killed("cells")))  # fmt: skip
    add(Case("Ctrl-C during start-up", "processes", (), code=130,
             scenario=interrupt_at_start(signal.SIGINT)))  # fmt: skip
    add(Case("SIGTERM during start-up", "processes", (), code=143,
             scenario=interrupt_at_start(signal.SIGTERM)))  # fmt: skip
    return found


def missing_need(need: str, subprocess_mode: bool) -> str:
    """Why a case that needs ``need`` cannot run here ("" if it can)."""
    if need == "mount" and not can_mount():
        return "mounting a file system needs root (CAP_SYS_ADMIN)"
    if need == "root" and os.geteuid() != 0:
        return "creating device nodes needs root"
    if need == "in-process" and subprocess_mode:
        return "the fault is injected into the process running the command"
    if need == "proc" and not Path("/proc").is_dir():
        return "finds worker processes through /proc"
    return ""
