"""Bad invocations and damaged run folders: every one must end in one line on stderr, exit
status 2, no traceback, no hang, and nothing on disk changed.

Each case names its fault class, the folder it damages (a copy of a small finished or
unfinished run, or of a comparison) and the command line. Run it as a script for the
table (``python tests/fuzz.py``; ``--subprocess`` runs every case as its own ``turing``
process, as a user would); ``tests/test_fuzz.py`` runs the cases in-process. The classes of
``tests/fuzz_faults.py`` (full disks, read-only file systems, links, bombs, special files,
edited contents, processes) and of ``tests/fuzz_genuine.py`` (bad genuine sources) add
environments (a file system mounted for the case), checks
that a run struck mid-way continues to an uninterrupted run's rows, and scenarios that drive
processes; cases that need root are skipped, with the reason, where it is not.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fuzz_faults
import fuzz_genuine
import numpy as np

SYSTEM = "agent-inference"
TINY = dict(models=4, interrogators=4, steps=20, c2st_trials=0, checkpoint_every=2)
"""The fixtures' runs: a few seconds each."""
TIMEOUT = 60.0
"""A case still running after this many seconds hangs."""


@dataclass(frozen=True)
class Case:
    name: str
    fault: str
    """The class of fault (the table's rows)."""
    argv: tuple[str, ...]
    """``{dir}`` stands for the damaged folder, ``{new}`` for a path that does not exist,
    ``{ws}`` for the case's workspace, ``{fs}`` for a file system its environment mounted."""
    folder: str | None = None
    """The fixture the case damages a copy of: finished, unfinished or comparison."""
    damage: Callable[[Path], None] | None = None
    code: int = 2
    needs: str = ""
    """``mount``, ``root``, ``in-process`` or ``proc``: skipped where that is missing."""
    environment: Callable[[Path, Path], Any] | None = None
    """``environment(workspace, folder)``: a context manager around the command (a file system
    mounted for it...) that yields more placeholders."""
    after: Callable[[Path, Path, dict], list[str]] | None = None
    """Checks after the command, in its environment (e.g. that the run continues)."""
    changes_allowed: bool = False
    """The fault strikes a run that writes: "nothing lost" is checked by ``after``."""
    scenario: Callable[[Path, dict], tuple[int | str, str, list[str]]] | None = None
    """Drives processes itself: returns ``(code, stderr, problems)``."""
    isolated: bool = False
    """Runs as its own process even in-process: a fault that can block in the kernel (a
    FIFO opened without a reader), where an alarm cannot interrupt it."""
    env: tuple[tuple[str, str], ...] = ()
    """Environment variables for the command (``{ws}``: the case's workspace)."""
    prepare: Callable[[Path, dict[str, Path]], None] | None = None
    """Called with the workspace and the fixtures before the command runs."""
    verify: Callable[[Outcome, Path], list[str]] | None = None
    """The case's own problems (given the outcome and the workspace), in place of one
    line, exit 2 and nothing changed."""


@dataclass
class Outcome:
    case: Case
    code: int | str
    stderr: str
    changed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    extra: list[str] = field(default_factory=list)
    """Problems found by the case's own checks."""
    skipped: str = ""

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    workspace: Path | None = None

    @property
    def problems(self) -> list[str]:
        found = list(self.extra)
        if self.skipped or (self.case.scenario is not None and self.code == "ok"):
            return found
        if self.code == "hang":
            found.append(f"hung (over {TIMEOUT:.0f} s)")
        elif self.case.verify is not None:
            if "Traceback" in self.stderr:
                found.append("traceback")
            return found + self.case.verify(self, self.workspace)
        elif self.code != self.case.code:
            found.append(f"exit {self.code}, not {self.case.code}")
        if "Traceback" in self.stderr:
            found.append("traceback")
        if self.case.code == 2 and len(self.lines) != 1:
            found.append(f"{len(self.lines)} lines on stderr")
        if self.changed and not self.case.changes_allowed:
            found.append("changed " + ", ".join(self.changed[:3]))
        return found


# ---------------------------------------------------------------------------- damage
def _edit_config(**changes) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        config.update(changes)
        (folder / "config.json").write_text(json.dumps(config, indent=2))

    return edit


def _drop_config_key(key: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        del config[key]
        (folder / "config.json").write_text(json.dumps(config))

    return edit


def _write(name: str, content: bytes | str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        target = folder / name
        _remove(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)

    return write


def _truncate(name: str, keep: float = 0.5) -> Callable[[Path], None]:
    def cut(folder: Path) -> None:
        target = _resolve(folder, name)
        data = target.read_bytes()
        target.write_bytes(data[: int(len(data) * keep)])

    return cut


def _delete(name: str) -> Callable[[Path], None]:
    def delete(folder: Path) -> None:
        for target in folder.glob(name):
            _remove(target)

    return delete


def _make_dir(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        _remove(folder / name)
        (folder / name).mkdir(parents=True)

    return make


def _metrics_rows(keep: int | None = None, drop: int = 0) -> Callable[[Path], None]:
    def cut(folder: Path) -> None:
        lines = (folder / "metrics.csv").read_text().splitlines(keepends=True)
        rows = lines[1:]
        rows = rows[: len(rows) - drop] if keep is None else rows[:keep]
        (folder / "metrics.csv").write_text("".join([lines[0], *rows]))

    return cut


def _rename_metrics_column(folder: Path) -> None:
    lines = (folder / "metrics.csv").read_text().splitlines(keepends=True)
    header = lines[0].split(",")
    header[1] = header[1] + "_renamed"
    (folder / "metrics.csv").write_text(",".join(header) + "".join(lines[1:]))


def _edit_npz(name: str, edit: Callable[[dict[str, np.ndarray]], None], pickled=False):
    def change(folder: Path) -> None:
        target = _resolve(folder, name)
        with np.load(target, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        edit(arrays)
        target.unlink()
        with open(target, "wb") as f:
            np.savez(f, allow_pickle=pickled, **arrays)

    return change


def _first_float(arrays: dict[str, np.ndarray]) -> str:
    return next(k for k, v in arrays.items() if v.dtype.kind == "f" and v.size > 1)


def _nan_genes(arrays: dict[str, np.ndarray]) -> None:
    key = _first_float(arrays)
    arrays[key] = np.full_like(arrays[key], np.nan)


def _wrong_shape(arrays: dict[str, np.ndarray]) -> None:
    key = _first_float(arrays)
    arrays[key] = arrays[key].reshape(-1)[:-1]


def _drop_first_array(arrays: dict[str, np.ndarray]) -> None:
    del arrays[_first_float(arrays)]


def _pickled(arrays: dict[str, np.ndarray]) -> None:
    arrays["payload"] = np.array([{"a": 1}], dtype=object)


def _resolve(folder: Path, name: str) -> Path:
    if name == "CHECKPOINT":
        return sorted((folder / "checkpoints").glob("gen-*.npz"))[-1]
    return folder / name


def _remove(target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()


def _checkpoint_damage() -> dict[str, Callable[[Path], None]]:
    ckpt = "CHECKPOINT"

    def replace(content: bytes):
        def write(folder: Path) -> None:
            _resolve(folder, ckpt).write_bytes(content)

        return write

    return {
        "checkpoint truncated": _truncate(ckpt),
        "checkpoint empty": replace(b""),
        "checkpoint random bytes": replace(bytes(range(256)) * 8),
        "checkpoint pickled": _edit_npz(ckpt, _pickled, pickled=True),
        "checkpoint missing array": _edit_npz(ckpt, _drop_first_array),
        "checkpoint wrong shape": _edit_npz(ckpt, _wrong_shape),
        "checkpoint NaN genes": _edit_npz(ckpt, _nan_genes),
        "checkpoints deleted": _delete("checkpoints/gen-*.npz"),
        "checkpoint folder is a file": _write("checkpoints", "x"),
    }


def _config_damage() -> dict[str, Callable[[Path], None]]:
    return {
        "config seed edited": _edit_config(seed=7),
        "config mode edited": _edit_config(mode="passive"),
        "config models edited": _edit_config(models=6),
        "config true values edited": _edit_config(true_params={"a": 0.3}),
        "config generations cut below the checkpoint": _edit_config(generations=1),
        "config truncated": _truncate("config.json"),
        "config empty": _write("config.json", ""),
        "config not JSON": _write("config.json", "seed: 1\n"),
        "config a list": _write("config.json", "[1, 2, 3]"),
        "config a string seed": _edit_config(seed="1"),
        "config unknown system": _edit_config(system="no-such-system"),
        "config missing system": _drop_config_key("system"),
        "config bad engine": _edit_config(engine="two"),
        "config is a directory": _make_dir("config.json"),
        "config deleted": _delete("config.json"),
        "config a path as layout": _edit_config(system_options={"layout": "/dev/zero"}),
    }


def _metrics_damage() -> dict[str, Callable[[Path], None]]:
    return {
        "metrics cut short": _metrics_rows(drop=1),
        "metrics without rows": _metrics_rows(keep=0),
        "metrics deleted": _delete("metrics.csv"),
        "metrics header changed": _rename_metrics_column,
        "metrics empty": _write("metrics.csv", ""),
        "metrics random bytes": _write("metrics.csv", bytes(range(256))),
        "metrics is a directory": _make_dir("metrics.csv"),
    }


def _finished_damage() -> dict[str, Callable[[Path], None]]:
    return {
        "result truncated": _truncate("result.json"),
        "result empty": _write("result.json", ""),
        "result a list": _write("result.json", "[]"),
        "result not JSON": _write("result.json", "{estimates"),
        "result missing estimates": _edit_json("result.json", drop="estimates"),
        "result estimates a string": _edit_json("result.json", estimates="best"),
        "result is a directory": _make_dir("result.json"),
        "populations truncated": _truncate("populations.npz"),
        "populations random bytes": _write("populations.npz", bytes(range(256)) * 4),
        "populations pickled": _edit_npz("populations.npz", _pickled, pickled=True),
        "populations missing array": _edit_npz("populations.npz", _drop_first_array),
        "populations NaN": _edit_npz("populations.npz", _nan_genes),
        "plots is a file": _write("plots", "x"),
        "config edited after finishing": _edit_config(seed=9),
        "metrics cut after finishing": _metrics_rows(drop=1),
        "metrics deleted after finishing": _delete("metrics.csv"),
    }


def _edit_json(name: str, drop: str | None = None, **changes):
    def edit(folder: Path) -> None:
        data = json.loads((folder / name).read_text())
        if drop:
            del data[drop]
        data.update(changes)
        (folder / name).write_text(json.dumps(data))

    return edit


def _comparison_damage() -> dict[str, Callable[[Path], None]]:
    return {
        "comparison.json truncated": _truncate("comparison.json"),
        "comparison.json a list": _write("comparison.json", "[]"),
        "comparison.json missing methods": _edit_json("comparison.json", drop="methods"),
        "comparison.json seeds a string": _edit_json("comparison.json", seeds="0,1"),
        "comparison.json unknown system": _edit_json("comparison.json", system="nope"),
        "comparison.json deleted": _delete("comparison.json"),
        "comparison cell config edited": lambda f: _edit_config(seed=5)(
            sorted((f / "runs").glob("*/seed-*"))[0]
        ),
    }


# ---------------------------------------------------------------------------- cases
def cases() -> list[Case]:
    """Every case, in the table's order."""
    found: list[Case] = []
    add = found.append
    run = ("run", SYSTEM, "--out", "{new}", "--c2st-trials", "0", "--quiet")

    # Numbers that are not numbers, or out of range.
    whole = {
        "--generations": ["0", "-3", "abc", "1.5", "１０", "", "1e3"],
        "--models": ["0", "-3", "abc", "2.5", "４", "", "1"],
        "--interrogators": ["0", "-3", "abc", "2.5", "４", ""],
        "--steps": ["0", "-3", "abc", "2.5", "１０", ""],
        "--seed": ["-1", "abc", "1.5", "１", ""],
        "--checkpoint-every": ["0", "-3", "abc", "2.5", ""],
        "--chunk-size": ["0", "-3", "abc", "2.5", ""],
        "--hidden": ["0", "-3", "abc", "2.5", ""],
        "--threads": ["0", "-3", "abc", "2.5", ""],
        "--budget": ["0", "-3", "abc", ""],
        "--c2st-trials": ["-3", "abc", "2.5", ""],
    }
    for flag, values in whole.items():
        for value in values:
            add(Case(f"run {flag} {value!r}", "number flags", (*run, flag, value)))
    for flag in ("--model-sigma-init", "--interrogator-sigma-init"):
        for value in ("0", "-1", "nan", "inf", "abc", "１", ""):
            add(Case(f"run {flag} {value!r}", "number flags", (*run, flag, value)))

    choices = {
        "--mode": ["nope", ""],
        "--init": ["random"],
        "--backend": ["gpu", "native-ish"],
        "--model-fitness": ["best"],
        "--periodic-genes": ["wrap"],
    }
    for flag, values in choices.items():
        for value in values:
            add(Case(f"run {flag} {value!r}", "choice flags", (*run, flag, value)))
    add(Case("run an unknown system", "choice flags", ("run", "no-such-system", "--out", "{new}")))
    add(Case("run without a system", "choice flags", ("run", "--out", "{new}")))
    add(Case("an unknown subcommand", "choice flags", ("fly",)))
    add(Case("run an unknown flag", "choice flags", (*run, "--generation", "3")))

    for value in (
        "a=0.5,,b=0.3",
        "a=0.5,",
        "a",
        "=0.5",
        "a=",
        "zz=0.5",
        "a=abc",
        "a=1e9",
        "a=-5",
        "a=nan",
        "a=inf",
        "a=０.５",
        "a=0.5,a=0.6",
        "a=0.5;b=0.3",
    ):
        add(Case(f"run --true-params {value!r}", "genuine values", (*run, "--true-params", value)))

    for value in ("bogus=1", "x", ",,", "noise=abc", "=1"):
        add(
            Case(
                f"run --system-options {value!r}",
                "system options",
                (*run, "--system-options", value),
            )
        )
    epuck = ("run", "sensor-self-id", "--out", "{new}", "--quiet", "--c2st-trials", "0")
    for value in ("layout=/dev/zero", "layout=/no/such/file.json", "layout=."):
        add(
            Case(
                f"e-puck --system-options {value}",
                "system options",
                (*epuck, "--system-options", value),
            )
        )
    for value in ("bogus=1", "batch=abc"):
        add(
            Case(
                f"gan --method-options {value!r}",
                "system options",
                ("run", SYSTEM, "--mode", "gan", "--out", "{new}", "--method-options", value),
            )
        )
    add(
        Case(
            "interrogate with --method-options",
            "system options",
            (*run, "--method-options", "batch=3"),
        )
    )

    for value in (
        "meta",
        "xpu",
        "cuda",
        "cuda:3",
        "cpu:1",
        "gpu",
        "",
        "mps",
        "cuda:-1",
        "cpu,cuda",
    ):
        add(Case(f"run --device {value!r}", "devices", (*run, "--device", value)))
    add(
        Case(
            "--backend native on cuda", "devices", (*run, "--backend", "native", "--device", "cuda")
        )
    )

    for flag, value in (
        ("--models", "100000000000"),
        ("--interrogators", "100000000000"),
        ("--steps", "1000000000000"),
        ("--generations", "100000000000000000000"),
        ("--hidden", "1000000000"),
    ):
        add(Case(f"run {flag} {value}", "sizes", (*run, flag, value)))

    # The folder flags.
    add(Case("--resume a missing folder", "folders", ("run", "--resume", "{new}")))
    add(Case("--resume a file", "folders", ("run", "--resume", "{dir}/metrics.csv"), "unfinished"))
    add(Case("--resume an empty folder", "folders", ("run", "--resume", "{dir}"), "empty"))
    add(
        Case("--resume and a system", "folders", ("run", SYSTEM, "--resume", "{dir}"), "unfinished")
    )
    add(Case("--out a file", "folders", (*run[:2], "--out", "{dir}/metrics.csv"), "unfinished"))
    add(
        Case(
            "--out a different run",
            "folders",
            ("run", SYSTEM, "--out", "{dir}", "--seed", "3"),
            "unfinished",
        )
    )
    add(
        Case(
            "--out a folder of other files",
            "folders",
            ("run", SYSTEM, "--out", "{dir}/checkpoints"),
            "unfinished",
        )
    )
    add(
        Case(
            "--out under a file",
            "folders",
            ("run", SYSTEM, "--out", "{dir}/metrics.csv/x"),
            "unfinished",
        )
    )
    add(Case("plot a missing folder", "folders", ("plot", "{new}")))
    add(Case("plot a file", "folders", ("plot", "{dir}/metrics.csv"), "finished"))
    add(Case("plot an empty folder", "folders", ("plot", "{dir}"), "empty"))
    add(Case("replay a missing folder", "folders", ("replay", "{new}", "--figure", "f.png")))
    add(
        Case("replay an empty folder", "folders", ("replay", "{dir}", "--figure", "f.png"), "empty")
    )
    add(
        Case(
            "replay an unfinished run",
            "folders",
            ("replay", "{dir}", "--figure", "f.png"),
            "unfinished",
        )
    )

    # Damaged run folders.
    for what, damage in {**_config_damage(), **_metrics_damage(), **_checkpoint_damage()}.items():
        add(
            Case(
                f"resume: {what}",
                "damaged folders",
                ("run", "--resume", "{dir}"),
                "unfinished",
                damage,
            )
        )
    for what in ("config seed edited", "config truncated", "config deleted", "config a list"):
        damage = _config_damage()[what]
        add(Case(f"plot: {what}", "damaged folders", ("plot", "{dir}"), "finished", damage))
    commands = {
        "run": ("run", "--resume", "{dir}"),
        "plot": ("plot", "{dir}"),
        "replay": ("replay", "{dir}", "--figure", "f.png"),
    }
    for what, damage in _finished_damage().items():
        # Only the commands that read the damaged file: a finished run's resume and its
        # plot do not read populations.npz, and only `plot` writes plots/.
        readers = (
            ["replay"]
            if what.startswith("populations")
            else ["plot"]
            if what.startswith("plots")
            else list(commands)
        )
        for command in readers:
            add(
                Case(f"{command}: {what}", "damaged folders", commands[command], "finished", damage)
            )
    for what in ("metrics cut short", "metrics header changed", "metrics deleted"):
        damage = _metrics_damage()[what]
        add(
            Case(
                f"same command: {what}",
                "damaged folders",
                ("run", SYSTEM, "--out", "{dir}", *_tiny_flags(6)),
                "unfinished",
                damage,
            )
        )

    # Replay options.
    replay = ("replay", "{dir}")
    for flags in (
        ("--trials", "1000000000"),
        ("--trials", "0"),
        ("--trials", "abc"),
        ("--size", "0x0"),
        ("--size", "abc"),
        ("--size", "100000x100000"),
        ("--fps", "0"),
        ("--interrogator", "99999"),
        ("--interrogator", "-1"),
        ("--model", "nope"),
        ("--renderer", "nope"),
        ("--video", "{dir}/metrics.csv/x.mp4"),
        ("--video", "x.avi"),
        ("--seed", "-1"),
        ("--figure", "{dir}/metrics.csv/x.png"),
    ):
        add(Case(f"replay {' '.join(flags)}", "replay options", (*replay, *flags), "finished"))

    # Comparisons.
    compare = ("compare", SYSTEM, "--out", "{new}", "--quiet", "--generations", "2")
    for flags in (
        ("--methods", "nope"),
        ("--methods", ""),
        ("--methods", "interrogate,,passive"),
        ("--methods", "interrogate,interrogate"),
        ("--seeds", "0"),
        ("--seeds", "-1"),
        ("--workers", "0"),
        ("--executor", "slurm"),
        ("--batch", "0"),
        ("--retries", "-1"),
        ("--first-seed", "-1"),
        ("--true-params", "a=0.5,,b=0.2"),
        ("--device", "meta"),
    ):
        add(Case(f"compare {' '.join(flags)}", "comparisons", (*compare, *flags)))
    add(Case("compare without --out", "comparisons", ("compare", SYSTEM, "--quiet")))
    add(Case("compare --resume a missing folder", "comparisons", ("compare", "--resume", "{new}")))
    add(
        Case(
            "compare --out a run folder",
            "comparisons",
            ("compare", SYSTEM, "--out", "{dir}", "--quiet"),
            "finished",
        )
    )
    for what, damage in _comparison_damage().items():
        for flags in (
            ("--resume", "{dir}", "--quiet"),
            ("--resume", "{dir}", "--summarise-only", "--quiet"),
        ):
            add(
                Case(
                    f"compare {flags[2]}: {what}",
                    "comparisons",
                    ("compare", *flags),
                    "comparison",
                    damage,
                )
            )

    # Benchmarks and listings.
    bench = ("bench", SYSTEM, "--generations", "1", "--runs", "1")
    for flags in (
        ("--runs", "0"),
        ("--backends", "nope"),
        ("--busy", "-1"),
        ("--generations", "0"),
        ("--gym-seconds", "-1"),
        ("--device", "xpu"),
        ("--models", "100000000000"),
    ):
        add(Case(f"bench {' '.join(flags)}", "benchmarks", (*bench, *flags)))
    add(Case("bench an unknown system", "benchmarks", ("bench", "nope")))

    found += kernel_cases()

    # User modules.
    add(Case("a missing module", "user modules", ("list", "--system-module", "no_such_module_xyz")))
    add(Case("a missing file", "user modules", ("list", "--system-module", "{new}.py")))
    add(
        Case(
            "a module with a syntax error",
            "user modules",
            ("list", "--system-module", "{dir}/broken_syntax.py"),
            "modules",
        )
    )
    add(
        Case(
            "a module that raises",
            "user modules",
            ("list", "--system-module", "{dir}/raises.py"),
            "modules",
        )
    )
    add(
        Case(
            "a module that is a folder",
            "user modules",
            ("list", "--system-module", "{dir}"),
            "modules",
        )
    )
    found += fuzz_faults.fault_cases(Case)
    found += fuzz_genuine.genuine_cases(Case)
    return found


# ---------------------------------------------------------------------------- kernel builds
KERNEL = "kernel builds"
"""The fault class of a compiler that hangs or fails and of a kernel cache that is damaged
or cannot be written: the run goes on (natively where a kernel can still be built, else with
torch, saying why in one warning), no file is left behind, nothing is loaded unverified."""

_FAKE_CC = """#!/bin/sh
case "$*" in *--version*) echo "fake cc 1.0"; exit 0;; esac
echo $$ >> "{ws}/cc.pids"
touch "$TMPDIR/leftover-{what}.tmp"
{body}
"""
_FAKE_BODIES = {
    "hangs": "sleep 600",
    "fails": 'echo "fake: internal compiler error" >&2; exit 1',
    "writes half a library": (
        'while [ "$1" != "-o" ]; do shift; done; head -c 3000 /bin/sh > "$2"; exit 1'
    ),
}


def _fake_compiler(what: str):
    def prepare(workspace: Path, fixtures: dict[str, Path]) -> None:
        _forget_kernels()
        script = workspace / "cc"
        script.write_text(_FAKE_CC.format(ws=workspace, what="cc", body=_FAKE_BODIES[what]))
        script.chmod(0o755)

    return prepare


def _damaged_cache(damage: str):
    def prepare(workspace: Path, fixtures: dict[str, Path]) -> None:
        _forget_kernels()
        cache = workspace / "cache"
        shutil.copytree(fixtures["kernel-cache"], cache)
        library = next((cache / "native").glob("fused-agent-inference-*.so"))
        if damage == "truncated":
            library.write_bytes(library.read_bytes()[:4000])
        elif damage == "another library":
            shutil.copyfile(next((cache / "native").glob("random-*.so")), library)
        elif damage == "digest missing":
            library.with_name(library.name + ".sha256").unlink()

    return prepare


def _forget_kernels() -> None:
    """In-process cases start as a new process would: no kernel loaded, no warning given."""
    from turing.engine import fused, native
    from turing.engine.fused import cuda
    from turing.engine.native import build
    from turing.engine.notices import _WARNED

    native._LOADED.clear()
    fused._CACHE.clear()
    cuda._LOADED.clear()
    build._WARNED.clear()
    _WARNED.clear()
    import warnings

    warnings.simplefilter("default", RuntimeWarning)  # shown again, not once per process


def _backend(workspace: Path) -> str:
    try:
        return json.loads((workspace / "new" / "config.json").read_text())["backend"]
    except (OSError, ValueError, KeyError):
        return "(no run)"


def _expect(backend: str, *words: str, cache_files: bool | None = None):
    """The checks of a kernel case: exit 0, the run simulated on ``backend``, ``words`` on
    stderr, the fake compiler's processes ended, no file of it left anywhere, and the
    cache's kernels (if ``cache_files``) verified."""

    def verify(outcome: Outcome, workspace: Path) -> list[str]:
        problems = []
        if outcome.code != 0:
            problems.append(f"exit {outcome.code}, not 0")
        if _backend(workspace) != backend:
            problems.append(f"simulated with {_backend(workspace)}, not {backend}")
        for word in words:
            if word not in outcome.stderr:
                problems.append(f"stderr does not say {word!r}")
        pids = workspace / "cc.pids"
        for pid in pids.read_text().split() if pids.exists() else []:
            try:
                os.kill(int(pid), 0)
                problems.append(f"the compiler (pid {pid}) still runs")
            except ProcessLookupError:
                pass
        leftovers = [p.name for p in Path(tempfile.gettempdir()).glob("leftover-cc.tmp")]
        leftovers += [p.name for p in workspace.rglob("leftover-*.tmp")]
        leftovers += [p.name for p in workspace.rglob(".build-*")]
        if leftovers:
            problems.append("left " + ", ".join(leftovers))
        if cache_files is not None:
            from turing.engine.native.build import _verified

            libraries = list(workspace.glob("cache/native/*.so"))
            if cache_files and not (libraries and all(_verified(p) for p in libraries)):
                problems.append("the cache holds an unverified kernel")
            if not cache_files and libraries:
                problems.append("a library was left in the cache")
        return problems

    return verify


def _expect_error(*words: str):
    """Exit 2 with one line saying ``words``, and no file of the compiler left behind."""

    def verify(outcome: Outcome, workspace: Path) -> list[str]:
        problems = [] if outcome.code == 2 else [f"exit {outcome.code}, not 2"]
        if len(outcome.lines) != 1:
            problems.append(f"{len(outcome.lines)} lines on stderr")
        problems += [f"stderr does not say {w!r}" for w in words if w not in outcome.stderr]
        leftovers = [p.name for p in workspace.rglob("leftover-*.tmp")]
        leftovers += [str(p.relative_to(workspace)) for p in workspace.glob("new/*")]
        return problems + (["left " + ", ".join(leftovers)] if leftovers else [])

    return verify


def kernel_cases() -> list[Case]:
    run = ("run", SYSTEM, "--out", "{new}", *_tiny_flags(2))
    cache = ("TURING_CACHE_DIR", "{ws}/cache")
    fake = (("CC", "{ws}/cc"), ("TURING_CC_TIMEOUT", "3"), cache)
    found = [
        Case("the compiler hangs", KERNEL, run, env=fake, prepare=_fake_compiler("hangs"),
             verify=_expect("eager", "timed out after 3 s", "simulating with torch",
                            cache_files=False)),
        Case("the compiler fails", KERNEL, run, env=fake, prepare=_fake_compiler("fails"),
             verify=_expect("eager", "internal compiler error", cache_files=False)),
        Case("the compiler writes half a library and fails", KERNEL, run, env=fake,
             prepare=_fake_compiler("writes half a library"),
             verify=_expect("eager", "simulating with torch", cache_files=False)),
        Case("--backend native and a compiler that fails", KERNEL,
             (*run, "--backend", "native"), env=fake, prepare=_fake_compiler("fails"),
             verify=_expect_error("--backend native", "internal compiler error")),
        Case("the kernel cache is a file", KERNEL, run,
             env=(("TURING_CACHE_DIR", "{ws}/cache-file"),),
             prepare=lambda ws, fixtures: (_forget_kernels(), (ws / "cache-file").write_text("x")),
             verify=_expect("native", "cannot be written")),
        Case("the kernel cache is on a read-only file system", KERNEL, run,
             env=(("TURING_CACHE_DIR", "/proc/turing-kernel-cache"),),
             prepare=lambda ws, fixtures: _forget_kernels(),
             verify=_expect("native", "cannot be written")),
    ]  # fmt: skip
    for damage in ("truncated", "another library", "digest missing"):
        found.append(
            Case(f"a cached kernel: {damage}", KERNEL, run, env=(cache,),
                 prepare=_damaged_cache(damage), verify=_expect("native", cache_files=True))
        )  # fmt: skip
    return found


def _tiny_flags(generations: int) -> tuple[str, ...]:
    return (
        "--generations",
        str(generations),
        *(f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()),
        "--quiet",
    )


CASES_BY_NAME = {case.name: case for case in cases()}
assert len(CASES_BY_NAME) == len(cases()), "case names must be unique"


# ---------------------------------------------------------------------------- fixtures
def build_fixtures(root: Path) -> dict[str, Path]:
    """The folders the cases damage copies of: a finished run, an unfinished run (its
    metrics rows as many as its checkpoint's), a comparison, an empty folder and a folder
    of user modules."""
    import turing
    from turing.contracts.config import RunConfig
    from turing.runs.runner import Runner

    root.mkdir(parents=True, exist_ok=True)
    names = ("finished", "unfinished", "comparison", "empty", "modules", "other", "kernel-cache")
    folders = {name: root / name for name in names}
    fuzz_faults.FIXTURES.update(folders)
    if all(p.exists() for p in folders.values()):
        return folders
    for p in folders.values():
        _remove(p)
    turing.learn(SYSTEM, generations=3, out=folders["finished"], progress=False, **TINY)
    turing.learn(SYSTEM, generations=3, seed=7, out=folders["other"], progress=False, **TINY)

    runner = Runner.create(
        RunConfig(system=SYSTEM, generations=6, **TINY), out=folders["unfinished"], progress=False
    )
    try:
        while runner.generation < 4:
            runner.advance(runner.method.generation(), 0.0)
    finally:
        runner.release()

    from turing.cli import main

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        main(
            [
                "compare",
                SYSTEM,
                "--methods",
                "interrogate,passive",
                "--seeds",
                "1",
                "--out",
                str(folders["comparison"]),
                "--workers",
                "1",
                "--no-plots",
                *_tiny_flags(2),
            ]
        )
    folders["empty"].mkdir()
    folders["modules"].mkdir()
    # A kernel cache of its own (the kernel cases damage copies of it).
    saved = os.environ.get("TURING_CACHE_DIR")
    os.environ["TURING_CACHE_DIR"] = str(folders["kernel-cache"])
    try:
        _forget_kernels()
        turing.learn(SYSTEM, generations=1, out=root / "kernel-run", progress=False,
                     backend="native", **TINY)  # fmt: skip
        _forget_kernels()
    finally:
        if saved is None:
            del os.environ["TURING_CACHE_DIR"]
        else:
            os.environ["TURING_CACHE_DIR"] = saved
    (folders["modules"] / "broken_syntax.py").write_text("import turing\n\ndef f(:\n    pass\n")
    (folders["modules"] / "raises.py").write_text("raise RuntimeError('this module fails')\n")
    return folders


# ---------------------------------------------------------------------------- running
def snapshot(root: Path) -> dict[str, tuple]:
    """What is on disk under ``root``: every path's kind, size, mode and content digest."""
    import stat

    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            digest = ""
            if stat.S_ISREG(info.st_mode):
                digest = _digest(path, info.st_size)
            found[str(path.relative_to(root))] = (
                stat.S_IFMT(info.st_mode),
                info.st_size if digest else 0,
                digest,
            )
    return found


def _digest(path: Path, size: int) -> str:
    # Large files (a decompression bomb's archive) by their size and ends: enough to see a
    # change, without reading megabytes per case.
    if size > 2**20:
        with path.open("rb") as handle:
            head = handle.read(4096)
            handle.seek(-4096, 2)
            tail = handle.read(4096)
        return hashlib.sha1(head + tail + str(size).encode()).hexdigest()
    return hashlib.sha1(path.read_bytes()).hexdigest()


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


class _Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise _Hang()


def run_case(
    case: Case, fixtures: dict[str, Path], workspace: Path, subprocess_mode=False
) -> Outcome:
    """Runs ``case`` on a fresh copy of its fixture inside ``workspace``."""
    missing = fuzz_faults.missing_need(case.needs, subprocess_mode)
    if missing:
        return Outcome(case, "skipped", "", skipped=missing)
    _remove(workspace)
    workspace.mkdir(parents=True)
    folder = workspace / "folder"
    start = time.perf_counter()
    if case.scenario is not None:
        code, stderr, problems = case.scenario(workspace, fixtures)
        return Outcome(case, code, stderr, [], time.perf_counter() - start, problems)
    if case.folder:
        shutil.copytree(fixtures[case.folder], folder, symlinks=True)
        if case.damage:
            case.damage(folder)
    if case.prepare:
        case.prepare(workspace, fixtures)
    environment = (
        case.environment(workspace, folder) if case.environment else contextlib.nullcontext({})
    )
    env = {k: v.replace("{ws}", str(workspace)) for k, v in case.env}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with environment as where:
            where = dict(
                where or {}, dir=str(folder), new=str(workspace / "new"), ws=str(workspace)
            )
            argv = [_fill(a, where) for a in case.argv]
            before = snapshot(workspace)
            start = time.perf_counter()
            if subprocess_mode or case.isolated:
                code, stderr = _in_subprocess(argv, workspace)
            else:
                code, stderr = _in_process(argv, workspace)
            seconds = time.perf_counter() - start
            changed = changes(before, snapshot(workspace))
            extra = case.after(workspace, folder, where) if case.after else []
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    outcome = Outcome(case, code, stderr, changed, seconds, extra)
    outcome.workspace = workspace
    return outcome


def _fill(argument: str, where: dict[str, str]) -> str:
    for key, value in where.items():
        argument = argument.replace("{" + key + "}", value)
    return argument


def _in_process(argv: list[str], cwd: Path) -> tuple[int | str, str]:
    from turing.cli import main

    err, out = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(TIMEOUT))
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                with warnings.catch_warnings():
                    # Warnings reach stderr, as in a process of its own (pytest records them).
                    warnings.showwarning = _show_warning
                    code: int | str = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
            except _Hang:
                code = "hang"
            except BaseException:
                traceback.print_exc()
                code = "traceback"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(here)
    return code, err.getvalue()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _in_subprocess(argv: list[str], cwd: Path) -> tuple[int | str, str]:
    command = [
        sys.executable,
        "-c",
        "import sys; from turing.cli import main; sys.exit(main())",
        *argv,
    ]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return "hang", stderr
    return done.returncode, done.stderr


def table(outcomes: list[Outcome]) -> str:
    """Markdown: per fault class, the cases and how many ended as they must (and how many
    were skipped here)."""
    total, good, skipped = Counter(), Counter(), Counter()
    for o in outcomes:
        total[o.case.fault] += 1
        skipped[o.case.fault] += bool(o.skipped)
        good[o.case.fault] += not o.skipped and not o.problems
    lines = [
        "| fault class | cases | one line, exit 2, nothing changed (or lost) | skipped |",
        "|---|---:|---:|---:|",
    ]
    for fault in total:
        lines.append(f"| {fault} | {total[fault]} | {good[fault]} | {skipped[fault]} |")
    lines.append(
        f"| **all** | {sum(total.values())} | {sum(good.values())} | {sum(skipped.values())} |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--subprocess", action="store_true", help="run each case as its own process"
    )
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    parser.add_argument("--show", action="store_true", help="print every case's stderr line")
    parser.add_argument("--fault", default="", help="run only the cases of this fault class")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="turing-fuzz-") as tmp:
        fixtures = build_fixtures(Path(tmp) / "fixtures")
        outcomes = []
        chosen = [c for c in cases() if args.only in c.name and args.fault in c.fault]
        for k, case in enumerate(chosen):
            outcome = run_case(case, fixtures, Path(tmp) / f"case-{k}", args.subprocess)
            outcomes.append(outcome)
            mark = "-- " if outcome.skipped else "ok " if not outcome.problems else "BAD"
            detail = "; ".join(outcome.problems)
            print(
                f"{mark} {outcome.seconds:5.1f}s {case.name}{': ' + detail if detail else ''}",
                flush=True,
            )
            if args.show or outcome.problems:
                for line in outcome.lines[-3:]:
                    print(f"      {line[:300]}")
            _remove(Path(tmp) / f"case-{k}")
    print()
    print(table(outcomes))
    return 0 if all(not o.problems for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
