"""Fused kernels on CUDA: the generated system code on scalars, one trial per thread.

:func:`source` puts the generated functions between ``scalar.h`` (the lane vocabulary on
scalars) and ``driver.cuh`` (the trial loop); :func:`load` compiles it with NVRTC (the
runtime compiler every CUDA build of torch ships; no CUDA toolkit needed) for the device's
architecture, caches the binary next to the CPU kernels, and returns a :class:`CudaKernel`
whose one launch runs every trial of a batch from reset to judgement. ``--fmad=false``
keeps multiplies and adds apart, so a trial computes on the GPU exactly what it computes on
the CPU.

:func:`load_host` compiles the very same source with the host's C++ compiler, trials one
after the other: what the tests run on machines without a GPU.
"""

from __future__ import annotations

import ctypes
import hashlib
import tempfile
import threading
from pathlib import Path

import torch

from turing.engine import native
from turing.engine.native import build

HEADERS = ("scalar.h", "lanemath.h", "philox.h", "args.h", "driver.cuh")
OPTIONS = ("--fmad=false", "--std=c++17")
BLOCK = 128
"""Threads per block (trials per block)."""
_LOADED: dict[tuple, CudaKernel | str] = {}
_LOCK = threading.Lock()


def source(generated) -> str:
    """The CUDA source of a generated kernel (:class:`turing.engine.fused.Generated`)."""
    return f'#include "scalar.h"\n#include "philox.h"\n{generated.text}\n#include "driver.cuh"\n'


class CudaKernel:
    """A generated kernel loaded on a CUDA device: :meth:`run` launches it on a batch."""

    def __init__(self, function, generated):
        self.function = function
        self.generated = generated
        sizes = generated.sizes
        self.observation_size, self.action_size = sizes["OBS"], sizes["ACT"]
        self.simulation_size, self.start_size = sizes["SIM"], sizes["START_SIZE"]
        self.lanes = 1

    @property
    def passive(self) -> bool:
        return not self.generated.passive_error

    def run(self, device: torch.device, **fields) -> None:
        """Launches the kernel on the trials described by ``fields`` (``driver.h``'s
        ``TrialArgs``: device tensors and numbers), on the current stream."""
        args = native.trial_args(fields)
        blob = torch.frombuffer(bytearray(bytes(args)), dtype=torch.uint8).to(device)
        n = int(fields["n"])
        grid = (max(1, -(-n // BLOCK)), 1, 1)
        self.function(grid=grid, block=(BLOCK, 1, 1), args=[blob])
        # The struct's memory must outlive the launch: keep it until the stream passes here.
        self._last = blob


def load(generated, device: torch.device) -> CudaKernel | str:
    """The generated kernel compiled for ``device`` (cached on disk), or a one-line reason
    why there is none."""
    text = source(generated)
    try:
        props = torch.cuda.get_device_properties(device)
    except Exception as exc:  # no driver, a bad index
        return f"no CUDA device ({exc})"
    arch = f"{props.major}{props.minor}"
    key = (text, arch)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _load(text, arch, generated)
        return _LOADED[key]


def _load(text: str, arch: str, generated) -> CudaKernel | str:
    digest = hashlib.sha256()
    for part in (text, *((native.HERE / h).read_text() for h in HEADERS), arch, *OPTIONS):
        digest.update(part.encode())

    def make(output: Path, workspace: Path) -> str:
        try:
            output.write_bytes(_nvrtc(text, arch))
        except Exception as exc:  # NVRTC missing or a compile error: simulate with torch
            first = str(exc).strip().splitlines()
            return f"compiling the CUDA kernel failed ({first[0] if first else type(exc).__name__})"
        return ""

    def load(path: Path):
        from torch.cuda._utils import _cuda_load_module

        try:
            return _cuda_load_module(path.read_bytes(), ["run_trials"])["run_trials"]
        except RuntimeError as exc:
            raise OSError(str(exc)) from None

    name = f"fused-{digest.hexdigest()[:20]}-sm{arch}.cubin"
    function = build.cached(native.cache_dir(), name, make, load)
    if isinstance(function, str):
        return function
    return CudaKernel(function, generated)


def _nvrtc(text: str, arch: str) -> bytes:
    """CUBIN of ``text`` for ``sm_<arch>`` (NVRTC through ctypes, as torch loads it)."""
    from torch.cuda._utils import _get_gpu_rtc_library

    nvrtc = _get_gpu_rtc_library()

    def check(result: int) -> None:
        if result != 0:
            message = ctypes.c_char_p()
            nvrtc.nvrtcGetErrorString(result, ctypes.byref(message))
            raise RuntimeError((message.value or b"NVRTC error").decode())

    program = ctypes.c_void_p()
    check(
        nvrtc.nvrtcCreateProgram(ctypes.byref(program), text.encode(), b"fused.cu", 0, None, None)
    )
    options = [f"--gpu-architecture=sm_{arch}", f"-I{native.HERE}", *OPTIONS]
    array = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
    try:
        if nvrtc.nvrtcCompileProgram(program, len(options), array) != 0:
            size = ctypes.c_size_t()
            nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value)
            nvrtc.nvrtcGetProgramLog(program, log)
            lines = [line for line in log.value.decode().splitlines() if "error" in line]
            raise RuntimeError(lines[0] if lines else "NVRTC failed")
        size = ctypes.c_size_t()
        check(nvrtc.nvrtcGetCUBINSize(program, ctypes.byref(size)))
        cubin = ctypes.create_string_buffer(size.value)
        check(nvrtc.nvrtcGetCUBIN(program, cubin))
        return cubin.raw
    finally:
        nvrtc.nvrtcDestroyProgram(ctypes.byref(program))


# ----------------------------------------------------------------------------- host build
def load_host(generated) -> native.CompiledKernel | str:
    """The CUDA source compiled by the host's C++ compiler (trials one after the other)."""
    cc = native.compiler("c++")
    if cc is None:
        return "no C++ compiler found"
    text = source(generated)
    with tempfile.TemporaryDirectory(prefix="turing-build-") as folder:
        library = Path(folder) / "host.so"
        command = [cc, "-x", "c++", "-O2", "-ffp-contract=off", "-fPIC", "-shared",
                   "-DTURING_HOST_CUDA", f"-I{native.HERE}", "-", "-o", str(library), "-lm"]  # fmt: skip
        try:
            code, _, stderr = build.run(command, text, Path(folder), build.timeout())
        except (TimeoutError, OSError) as exc:
            return f"compiling the CUDA source on the host failed ({exc})"
        if code != 0:
            first = (stderr.strip().splitlines() or ["no message"])[0]
            return f"compiling the CUDA source on the host failed: {first}"
        kernel = native.CompiledKernel(ctypes.CDLL(str(library)), library)
    kernel.generated = generated
    return kernel
