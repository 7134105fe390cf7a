"""The README's two fresh-machine commands stay true: CI runs the same test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = bash_blocks(readme)
    commands = [b for b in blocks if "pytest" in b and "venv" in b]
    assert len(commands) == 1, "the README keeps exactly one set-up-and-test command"
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[0] in ci


def test_readme_main_job_sets_up_and_runs_a_case_study():
    readme = (ROOT / "README.md").read_text()
    main_job = [b for b in bash_blocks(readme) if "venv" in b and "turing run" in b]
    assert len(main_job) == 1
    assert "pip install torch==2.13.0" in main_job[0]
