"""``docs/adding-a-system.md`` runs as written: every code block, in order, in an empty
folder, with a private virtual environment for the plugin it installs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "adding-a-system.md"

BLOCK = re.compile(
    r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<language>\w+)\n(?P<code>.*?)\n```", re.S
)


@dataclass
class Block:
    language: str
    code: str
    file: str | None
    line: int


def blocks(text: str) -> list[Block]:
    return [
        Block(m["language"], m["code"], m["file"], text.count("\n", 0, m.start()) + 1)
        for m in BLOCK.finditer(text)
    ]


def tutorial_environment(root: Path) -> tuple[dict[str, str], Path]:
    """A virtual environment that sees this one's packages through a .pth file, installs
    into its own site-packages, and has `python`, `pip` and `turing` first on PATH; pip
    never reaches the network."""
    folder = root / "venv"
    venv.EnvBuilder(with_pip=False).create(folder)
    bin_dir = folder / "bin"
    python = bin_dir / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    parents = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "_turing_parent.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in parents)
    )
    for name, body in {
        "pip": f'#!/bin/sh\nexec "{python}" -m pip "$@"\n',
        "turing": f'#!/bin/sh\nexec "{python}" -m turing.cli "$@"\n',
    }.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    parent_bin = str(Path(sys.executable).parent)
    path = [str(bin_dir)] + [
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != parent_bin
    ]
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "PIP_", "TURING_", "VIRTUAL_ENV"))
    }
    environment.update(
        PATH=os.pathsep.join(path),
        VIRTUAL_ENV=str(folder),
        PIP_NO_INDEX="1",
        # pip reads PIP_NO_BUILD_ISOLATION=0 as --no-build-isolation: build with the
        # setuptools already installed instead of downloading one.
        PIP_NO_BUILD_ISOLATION="0",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        MPLBACKEND="Agg",
    )
    return environment, python


def test_the_tutorial_has_blocks_of_every_kind():
    found = blocks(TUTORIAL.read_text())
    assert {b.language for b in found} == {"python", "bash", "toml"}
    assert all(b.file for b in found if b.language == "toml")
    assert sum(1 for b in found if b.file == "my_range_sensor.py") >= 4
    assert any("turing compare" in b.code for b in found)
    assert any("pip install" in b.code for b in found)


@pytest.mark.slow
def test_every_code_block_runs_as_written(tmp_path):
    environment, python = tutorial_environment(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    for block in blocks(TUTORIAL.read_text()):
        where = f"{TUTORIAL.name}:{block.line}"
        if block.file:
            path = work / block.file
            path.parent.mkdir(parents=True, exist_ok=True)
            previous = path.read_text() + "\n" if path.exists() else ""
            path.write_text(previous + block.code + "\n")
            continue
        if block.language == "python":
            command = [str(python), "-c", block.code]
        elif block.language == "bash":
            command = ["bash", "-euo", "pipefail", "-c", block.code]
        else:
            pytest.fail(f"{where}: a {block.language} block must name its file")
        done = subprocess.run(
            command, cwd=work, env=environment, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, (
            f"{where} failed:\n{block.code}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        )
        assert "Traceback" not in done.stderr, f"{where}:\n{done.stderr[-3000:]}"
    # What the tutorial promises, checked once at the end.
    assert (work / "runs" / "my-range-sensor" / "result.json").exists()
    assert (work / "compare-my-range-sensor" / "summary.csv").exists()
    listed = subprocess.run(
        ["turing", "list"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "my-range-sensor  (turing/MyRangeSensor-v0)" in listed.stdout, listed.stderr


def test_the_tutorial_module_is_the_built_in_system(tmp_path, monkeypatch):
    """The tutorial's system simulates the same robot as range-sensor-id: the same readings
    from the same random streams and actions."""
    import torch

    import turing
    from turing.engine import PASSIVE, stream_key

    code = "\n".join(b.code for b in blocks(TUTORIAL.read_text()) if b.file == "my_range_sensor.py")
    path = tmp_path / "tutorial_range_sensor.py"
    path.write_text(
        code.replace("my-range-sensor", "tutorial-range-sensor").replace(
            "MyRangeSensor-v0", "TutorialRangeSensor-v0"
        )
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv("TURING_SYSTEM_MODULES", raising=False)
    turing.load_system_module(str(path))
    try:
        ours, built_in = (
            turing.make_system("tutorial-range-sensor"),
            turing.make_system("range-sensor-id"),
        )
        params = torch.tensor([[2.0, 0.5, 3.0], [1.0, 2.0, 0.0]])
        readings, passive = [], []
        for system in (ours, built_in):
            noise = turing.Noise.for_trials(stream_key(4, "test"), 3)
            state, reading = system.reset(params, noise.at(0))
            trace = [reading]
            for t in range(30):
                action = (
                    system.passive_action(t, reading, params, None)
                    if t % 2
                    else torch.full((2, 3), 0.9)
                )
                state, reading = system.step(state, params, action, noise.at(t + 1))
                trace.append(reading)
            readings.append(torch.cat(trace))
            # The same through the trial engine, under the passive input.
            trials = turing.simulate(system, params, noise, steps=31, inputs=PASSIVE, record=True)
            passive.append(trials.observations)
        assert torch.allclose(readings[0], readings[1], atol=1e-4)
        assert torch.allclose(passive[0], passive[1], atol=1e-4)
    finally:
        turing.unregister_system("tutorial-range-sensor")
        sys.modules.pop("tutorial_range_sensor", None)
