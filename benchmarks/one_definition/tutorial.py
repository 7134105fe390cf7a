"""The tutorial's system exactly as ``docs/adding-a-system.md`` shows it, and a twin of it
with a hand-written C kernel (``tutorial_kernel.c``), for the benchmarks here."""

from __future__ import annotations

import importlib.util
import re
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs" / "adding-a-system.md"


def module_source() -> str:
    """``my_range_sensor.py`` assembled from the tutorial's code blocks, in order."""
    text = DOCS.read_text()
    blocks = re.findall(r"<!-- file: my_range_sensor.py -->\s*```python\n(.*?)```", text, re.S)
    return "\n".join(blocks)


def load():
    """The tutorial's module, imported from a temporary copy (registers its system once)."""
    import sys

    if "my_range_sensor" in sys.modules:
        return sys.modules["my_range_sensor"]
    folder = Path(tempfile.mkdtemp(prefix="tutorial-"))
    path = folder / "my_range_sensor.py"
    path.write_text(module_source())
    spec = importlib.util.spec_from_file_location("my_range_sensor", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["my_range_sensor"] = module
    spec.loader.exec_module(module)
    return module


def system():
    """The tutorial's system with a hand-written kernel: its torch methods are the tutorial's
    (what the generated path compiles), its ``native_kernel`` the C twin."""
    from turing.engine.native import NativeKernel

    base = load().MyRangeSensor

    class HandWritten(base):
        def native_kernel(self, steps):
            return NativeKernel(HERE / "tutorial_kernel.c")

    return HandWritten()
