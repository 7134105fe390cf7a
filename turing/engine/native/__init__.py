"""Native kernels: a system's trial loop compiled from C, fused with the interrogator.

A system may ship a C file (``System.native_kernel``) that implements its reset, step and
passive controller on lane vectors (``vec.h``) and includes ``driver.h``, the generic
trial loop. This module compiles it once per machine with the system's C compiler
(``$CC``, else ``cc``, ``gcc`` or ``clang``: the compiler torch.compile needs on a CPU
too), caches the shared library under ``$TURING_CACHE_DIR`` (default
``~/.cache/turing-learning``), and calls it through ``ctypes`` on the tensors' memory.

Flags: ``-O3 -march=native`` for the machine's vector width, but ``-ffp-contract=off``
and our own transcendentals (``vec.h``), so that the numbers a kernel computes do not depend
on the instruction set: the same run gives the same ``metrics.csv`` on any x86-64 or Arm
machine. If no compiler works, :func:`load` says why and the engine simulates with torch.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch

from turing.engine.native import build

HERE = Path(__file__).resolve().parent
HEADERS = ("vec.h", "lanemath.h", "philox.h", "args.h", "driver.h")
FLAGS = (
    "-march=native",
    "-mprefer-vector-width=512",
    "-ffp-contract=off",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-fPIC",
    "-shared",
    "-pthread",
    "-std=gnu11",
)
INPUTS_FROM = {"judge": 0, "passive": 1, "fixed": 2}


@dataclass(frozen=True)
class NativeKernel:
    """A system's native kernel.

    Attributes:
        source: the C file (it includes ``driver.h``).
        options: values the kernel reads at run time (the system's constructor options).
        defines: ``(NAME, value)`` pairs compiled in as ``-DNAME=value`` (float32 literals):
            the system's constants, given from the one place Python reads them too.
    """

    source: Path | None
    options: tuple[float, ...] = field(default_factory=tuple)
    defines: tuple[tuple[str, float | int], ...] = field(default_factory=tuple)
    text: str | None = None
    """Generated source (:mod:`turing.engine.fused`), compiled in place of ``source``."""
    name: str = "kernel"
    optimize: tuple[str, ...] = ("-O3",)
    """Optimisation flags."""

    def flags(self) -> list[str]:
        return [*self.optimize] + [
            f"-D{name}={value}" if isinstance(value, int) else f"-D{name}={float(value)!r}f"
            for name, value in self.defines
        ]


class _Args(ctypes.Structure):
    _fields_ = [
        ("n", ctypes.c_int64),
        ("steps", ctypes.c_int32),
        ("inputs_from", ctypes.c_int32),
        ("judge_sees_input", ctypes.c_int32),
        ("hidden", ctypes.c_int32),
        ("net_inputs", ctypes.c_int32),
        ("net_outputs", ctypes.c_int32),
        ("n_weights", ctypes.c_int32),
        ("threads", ctypes.c_int32),
        ("pad_", ctypes.c_int32),
        ("key_stride", ctypes.c_int64),
        ("params", ctypes.c_void_p),
        ("key", ctypes.c_void_p),
        ("stream", ctypes.c_void_p),
        ("start_stream", ctypes.c_void_p),
        ("input_stream", ctypes.c_void_p),
        ("weights", ctypes.c_void_p),
        ("interrogator", ctypes.c_void_p),
        ("fixed", ctypes.c_void_p),
        ("start", ctypes.c_void_p),
        ("options", ctypes.c_void_p),
        ("action_low", ctypes.c_void_p),
        ("action_span", ctypes.c_void_p),
        ("action_initial", ctypes.c_void_p),
        ("pin", ctypes.c_void_p),
        ("judgement", ctypes.c_void_p),
        ("failed", ctypes.c_void_p),
        ("rec_obs", ctypes.c_void_p),
        ("rec_out", ctypes.c_void_p),
        ("rec_act", ctypes.c_void_p),
    ]


def philox_words():
    """The native ``philox_words`` function (``random.c``), or ``None`` where no compiler
    works. Built on first use like the kernels."""
    with _LOCK:
        if "philox" not in _LOADED:
            library = _build_library(HERE / "random.c", ["-O3"])
            if isinstance(library, str):
                _LOADED["philox"] = None
            else:
                function = library.philox_words
                function.restype = None
                function.argtypes = [
                    ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                    ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32,
                    ctypes.c_void_p,
                ]  # fmt: skip
                _LOADED["philox"] = function
        return _LOADED["philox"]


class CompiledKernel:
    """A loaded kernel library: :meth:`run` simulates a batch of trials."""

    def __init__(self, library: ctypes.CDLL, path: Path):
        self.path = path
        self.generated = None  # the fused.Generated it was built from, if generated
        self._run = library.run_trials
        self._run.argtypes = [ctypes.POINTER(_Args)]
        self._run.restype = ctypes.c_int
        sizes = (ctypes.c_int32 * 5)()
        library.kernel_sizes(sizes)
        (
            self.observation_size,
            self.action_size,
            self.simulation_size,
            self.start_size,
            self.lanes,
        ) = (int(s) for s in sizes)

    @property
    def passive(self) -> bool:
        """Whether the kernel simulates the passive input (a generated kernel may not)."""
        return self.generated is None or not self.generated.passive_error

    def run(self, device=None, **a) -> None:
        """Runs ``run_trials`` on the given arrays (see ``driver.h``'s ``TrialArgs``); every
        tensor must be contiguous, on the CPU, and kept alive by the caller."""
        args = trial_args(a)
        if self._run(ctypes.byref(args)) != 0:
            raise RuntimeError("the native kernel could not start its threads")


def trial_args(fields: dict) -> _Args:
    """``driver.h``'s ``TrialArgs`` of ``fields`` (tensors become their data pointers)."""
    args = _Args()
    for name, value in fields.items():
        if isinstance(value, torch.Tensor):
            value = value.data_ptr()
        setattr(args, name, value)
    return args


_LOADED: dict[tuple, CompiledKernel | str] = {}
_LOCK = threading.Lock()


def cache_dir() -> Path:
    root = os.environ.get("TURING_CACHE_DIR")
    if root:
        return Path(root) / "native"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "turing-learning" / "native"


def compiler(language: str = "c") -> str | None:
    """The C (or C++) compiler to use, or ``None``."""
    if language == "c++":
        names = (os.environ.get("CXX"), "c++", "g++", "clang++")
    else:
        names = (os.environ.get("CC"), "cc", "gcc", "clang")
    for name in names:
        if name and shutil.which(name):
            return name
    return None


def _machine_tag() -> str:
    """What -march=native depends on: the CPU's model and features."""
    tag = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features", "model name")):
                    tag += line
    except OSError:
        pass
    return tag


def lanes() -> int:
    """Trials per vector: 16 where the CPU has AVX-512, else 8 (results are the same)."""
    return 16 if " avx512f" in _machine_tag() else 8


def load(kernel: NativeKernel) -> CompiledKernel | str:
    """The compiled ``kernel``, built on first use; or a one-line reason why there is none
    (no compiler, a compile error)."""
    if kernel.text is not None:
        source, key = None, ("text", kernel.name, kernel.text)
    else:
        source = Path(kernel.source).resolve()
        key = (source, kernel.defines)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _build(source, kernel.flags(), kernel)
        return _LOADED[key]


def _build(source: Path | None, defines: list[str], kernel: NativeKernel) -> CompiledKernel | str:
    if source is None:
        text = f'#include "vec.h"\n#include "philox.h"\n{kernel.text}\n#include "driver.h"\n'
        library = _build_library(None, defines, text=text, name=kernel.name)
    else:
        library = _build_library(source, defines)
    if isinstance(library, str):
        return library
    return CompiledKernel(library, Path(library._name))


def _build_library(
    source: Path | None, defines: list[str], text: str | None = None, name: str = ""
) -> ctypes.CDLL | str:
    cc = compiler()
    if cc is None:
        return "no C compiler found (install gcc or clang, or set CC)"
    version = compiler_version(cc)
    if version.startswith("!"):
        return version[1:]
    if text is None:
        text = source.read_text()
        name = source.name
    digest = hashlib.sha256()
    for part in (
        text.encode(),
        *((HERE / h).read_bytes() for h in HEADERS),
        " ".join(FLAGS + tuple(defines)).encode(),
        str(lanes()).encode(),
        version.encode(),
        _machine_tag().encode(),
    ):
        digest.update(part)
    filename = f"{Path(name).stem}-{digest.hexdigest()[:20]}.so"

    def make(output: Path, workspace: Path) -> str:
        command = [cc, *FLAGS, *defines, f"-DW={lanes()}", f"-I{HERE}"]
        command += ["-x", "c", "-", "-o", str(output), "-lm"]
        limit = build.timeout()
        try:
            code, _, stderr = build.run(command, text, workspace, limit)
        except TimeoutError as exc:
            return f"compiling {name} with {cc} {exc} (TURING_CC_TIMEOUT)"
        except OSError as exc:
            return f"compiling {name} failed ({exc})"
        if code != 0:
            first = (stderr.strip().splitlines() or ["no message"])[0]
            return f"compiling {name} with {cc} failed: {first}"
        return ""

    return build.cached(cache_dir(), filename, make, lambda path: ctypes.CDLL(str(path)))


def compiler_version(cc: str) -> str:
    """``cc --version``'s output, or ``"!"`` and why the compiler does not run."""
    with tempfile.TemporaryDirectory(prefix="turing-build-") as workspace:
        try:
            limit = min(60.0, build.timeout())
            code, stdout, _ = build.run([cc, "--version"], None, Path(workspace), limit)
        except TimeoutError as exc:
            return f"!the C compiler {cc} did not answer --version ({exc})"
        except OSError as exc:
            return f"!the C compiler {cc} does not run ({exc})"
    return stdout if code == 0 else f"!the C compiler {cc} does not run (--version failed)"
