"""Systems from other packages (entry points) and from modules the user names
(``--system-module``): discovery, failures reported as one line, and a real plugin package
built and pip-installed in a temporary virtual environment."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pytest

import turing
from turing import UserError
from turing.cli import build_parser, main
from turing.integrations import plugins

SYSTEM_SOURCE = """
import torch
from turing import Parameter, System, register_system


class {cls}(System):
    name = "{name}"
    env_id = "plugin-tests/{cls}-v0"
    description = "a plugin's system"
    parameters = (Parameter("gain", 0.0, 2.0, 1.0),)
    observation_size = 1
    action_size = 1
    default_steps = 5
    default_generations = 2

    def reset(self, params, noise):
        return 0, params.new_zeros(1, params.shape[-1])

    def step(self, state, params, action, noise):
        return state + 1, params[0] * action + 0.05 * noise.normal(1).to(action.dtype)

    def passive_action(self, t, observation, params, inputs):
        return torch.full_like(observation, 0.5)
"""


def system_module(cls: str, name: str, register: bool = True) -> str:
    source = SYSTEM_SOURCE.format(cls=cls, name=name)
    return source + (f"\n\nregister_system({cls})\n" if register else "")


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Plugin loading as in a new process, and the registry restored afterwards."""
    monkeypatch.setattr(plugins, "_scanned", False)
    monkeypatch.setattr(plugins, "_attempted", set())
    monkeypatch.setattr(plugins, "_failures", [])
    monkeypatch.setattr(plugins, "_loaded_modules", [])
    monkeypatch.delenv(plugins.MODULES_VARIABLE, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(turing.integrations.registry._REGISTRY)
    modules = set(sys.modules)
    yield
    for name in set(turing.integrations.registry._REGISTRY) - before:
        turing.unregister_system(name)
    for name in set(sys.modules) - modules:
        if name.startswith("plug_"):
            del sys.modules[name]


def fake_entry_points(
    monkeypatch, tmp_path, modules: dict[str, str], entries: list[tuple[str, str]]
):
    """Writes ``modules`` into an importable folder and makes ``entries`` (name, value) the
    installed ``turing.systems`` entry points."""
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [
        metadata.EntryPoint(name, value, plugins.ENTRY_POINT_GROUP) for name, value in entries
    ]
    monkeypatch.setattr(
        plugins.metadata,
        "entry_points",
        lambda group: points if group == plugins.ENTRY_POINT_GROUP else [],
    )


# ----------------------------------------------------------------------------- entry points
def test_entry_points_naming_a_module_a_function_or_a_class_are_loaded(
    fresh_plugins, monkeypatch, tmp_path
):
    modules = {
        "plug_module": system_module("ModuleSystem", "plug-module"),
        "plug_function": system_module("FunctionSystem", "plug-function", register=False)
        + "\n\ndef register():\n    register_system(FunctionSystem)\n",
        "plug_class": system_module("ClassSystem", "plug-class", register=False),
    }
    entries = [
        ("module", "plug_module"),
        ("function", "plug_function:register"),
        ("class", "plug_class:ClassSystem"),
    ]
    fake_entry_points(monkeypatch, tmp_path, modules, entries)
    found = turing.registrations()
    assert {"plug-module", "plug-function", "plug-class"} <= set(found)
    assert found["plug-module"].source == "plug_module"
    assert "plugin module" in found["plug-module"].plugin
    assert turing.make_system("plug-class").parameter_names == ("gain",)
    assert plugins.plugin_failures() == []


def test_plugins_are_loaded_when_a_system_is_looked_up(fresh_plugins, monkeypatch, tmp_path):
    fake_entry_points(
        monkeypatch,
        tmp_path,
        {"plug_lazy": system_module("Lazy", "plug-lazy")},
        [("lazy", "plug_lazy")],
    )
    assert "plug_lazy" not in sys.modules
    assert turing.make_system("plug-lazy").name == "plug-lazy"
    assert turing.get_registration("agent-inference")  # built-ins need no plugin


def test_a_broken_plugin_is_skipped_with_one_line(fresh_plugins, monkeypatch, tmp_path, caplog):
    modules = {
        "plug_good": system_module("Good", "plug-good"),
        "plug_raises": "raise RuntimeError('the lab server is down')\n",
        # Registers one system, then fails: the plugin is skipped whole.
        "plug_half": system_module("Half", "plug-half")
        + "\nraise ImportError('missing dependency')\n",
        "plug_duplicate": system_module("Duplicate", "agent-inference"),
    }
    entries = [
        ("good", "plug_good"),
        ("missing", "plug_no_such_module"),
        ("raises", "plug_raises"),
        ("half", "plug_half"),
        ("duplicate", "plug_duplicate"),
        ("not-callable", "plug_good:Parameter.__doc__"),
    ]
    fake_entry_points(monkeypatch, tmp_path, modules, entries)
    with caplog.at_level(logging.WARNING, logger="turing.integrations.plugins"):
        found = turing.registrations()
    assert "plug-good" in found and "plug-half" not in found
    assert found["agent-inference"].source == "turing.envs.agent_inference.system"
    failures = {f.entry_point.split(" = ")[0]: f for f in plugins.plugin_failures()}
    assert set(failures) == {"missing", "raises", "half", "duplicate", "not-callable"}
    assert "No module named 'plug_no_such_module'" in failures["missing"].error
    assert "RuntimeError: the lab server is down" in failures["raises"].error
    assert "plug_raises.py:1" in failures["raises"].error
    assert "already registered" in failures["duplicate"].error
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 5
    for message in messages:
        assert "\n" not in message and "failed to load and was skipped" in message
    # Reported once per process, not at every lookup.
    caplog.clear()
    turing.registrations()
    assert not caplog.records


@pytest.mark.parametrize("broken_first", [True, False])
def test_a_broken_plugin_that_imports_a_good_one_leaves_the_good_one(
    fresh_plugins, monkeypatch, tmp_path, broken_first
):
    # The broken plugin imports the good plugin's module (registering its system) and
    # then fails; the good plugin, loaded before or after, must keep its system in the
    # registry, in `turing list` and in Gymnasium.
    import gymnasium

    modules = {
        "plug_shared": system_module("Shared", "plug-shared"),
        "plug_uses_shared": "import plug_shared\nraise ImportError('a missing extra')\n",
    }
    entries = [("good", "plug_shared"), ("broken", "plug_uses_shared")]
    fake_entry_points(monkeypatch, tmp_path, modules, entries[::-1] if broken_first else entries)
    found = turing.registrations()
    assert "plug-shared" in found
    assert found["plug-shared"].plugin.startswith("plugin good")
    assert [f.entry_point.split(" = ")[0] for f in plugins.plugin_failures()] == ["broken"]
    assert turing.make_system("plug-shared").parameter_names == ("gain",)
    assert "plugin-tests/Shared-v0" in gymnasium.registry
    assert main(["list"]) == 0


def test_turing_list_survives_a_broken_plugin(fresh_plugins, monkeypatch, tmp_path, capsys):
    fake_entry_points(
        monkeypatch,
        tmp_path,
        {"plug_ok": system_module("Ok", "plug-ok")},
        [("ok", "plug_ok"), ("bad", "plug_missing")],
    )
    assert main(["list"]) == 0
    assert "plug-ok  (plugin-tests/Ok-v0)" in capsys.readouterr().out


# ----------------------------------------------------------------------------- --system-module
def test_load_system_module_by_path_and_by_name(fresh_plugins, tmp_path):
    path = tmp_path / "plug_file.py"
    path.write_text(system_module("FromFile", "plug-file"))
    module = turing.load_system_module(str(path))
    assert module.__name__ == "plug_file" and "plug-file" in turing.registrations()
    assert turing.load_system_module(str(path)) is module  # not run twice
    assert str(tmp_path) in sys.path  # worker processes can import it by name
    assert os.environ[plugins.MODULES_VARIABLE] == str(path.resolve())

    (tmp_path / "plug_named.py").write_text(system_module("Named", "plug-named"))
    turing.load_system_module("plug_named")
    assert turing.get_registration("plug-named").source == "plug_named"
    assert plugins.system_modules() == (str(path.resolve()), "plug_named")


@pytest.mark.parametrize(
    ("source", "argument", "message"),
    [
        (None, "plug_nowhere_xyz", "no module named 'plug_nowhere_xyz'"),
        (None, "missing/plug.py", "no such file"),
        (
            "import plug_dependency_xyz\n",
            "plug_bad_import.py",
            "importing it failed: ModuleNotFoundError",
        ),
        (
            "x = 1\nraise ValueError('bad calibration')\n",
            "plug_raises_value.py",
            r"ValueError: bad calibration \(.*plug_raises_value.py:2\)",
        ),
        ("", "colorsys.py", "(another|a different) module named 'colorsys'"),
    ],
)
def test_a_module_that_cannot_be_imported_is_a_user_error(
    fresh_plugins, tmp_path, source, argument, message
):
    if source is not None:
        (tmp_path / argument).write_text(source)
        argument = str(tmp_path / argument)
    with pytest.raises(UserError, match=message) as error:
        turing.load_system_module(argument)
    assert "\n" not in str(error.value)


def test_every_command_takes_system_module():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, subparser in subparsers.choices.items():
        assert "--system-module" in subparser._option_string_actions, name


def test_system_module_on_the_command_line(fresh_plugins, tmp_path, capsys):
    path = tmp_path / "plug_cli.py"
    path.write_text(system_module("Cli", "plug-cli"))
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "plug-cli",
            "--system-module",
            str(path),
            "--models",
            "4",
            "--interrogators",
            "4",
            "--quiet",
            "--c2st-trials",
            "0",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert turing.load(out).system == "plug-cli"
    code = main(["list", "--system-module", "plug_nowhere_xyz"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no module named 'plug_nowhere_xyz'" in err


def test_child_processes_inherit_the_loaded_modules(fresh_plugins, tmp_path):
    path = tmp_path / "plug_child.py"
    path.write_text(system_module("Child", "plug-child"))
    turing.load_system_module(str(path))
    code = "import turing; print(turing.make_system('plug-child').name)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "plug-child"


# ----------------------------------------------------------------------------- a real package
PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"

[project.entry-points."turing.systems"]
{entries}

[tool.setuptools]
py-modules = ["{module}"]
"""


def make_package(root: Path, dist: str, module: str, source: str, entries: str) -> Path:
    folder = root / dist
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        PLUGIN_PYPROJECT.format(dist=dist, module=module, entries=entries)
    )
    (folder / f"{module}.py").write_text(source)
    return folder


def child_venv(path: Path) -> Path:
    """A virtual environment that sees this one's packages (turing, pip, setuptools) through
    a .pth file, and installs into its own site-packages. (``--system-site-packages`` would
    see the base interpreter's packages, not this venv's.)"""
    venv.EnvBuilder(with_pip=False).create(path)
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    parents = [p for p in sys.path if p.endswith("site-packages")]
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in parents)
    Path(site, "_turing_parent.pth").write_text(lines)
    return python


def test_a_pip_installed_plugin_is_discovered_and_a_broken_one_skipped(tmp_path):
    good = make_package(
        tmp_path,
        "turing-tiny-plugin",
        "tiny_plugin",
        system_module("Tiny", "tiny-plugin-system"),
        'tiny = "tiny_plugin"',
    )
    broken = make_package(
        tmp_path,
        "turing-broken-plugin",
        "broken_plugin",
        "import numpy\nraise ImportError('needs lab_driver')\n",
        'broken = "broken_plugin"',
    )
    python = child_venv(tmp_path / "venv")
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "TURING_"))
    }
    environment["PIP_NO_INDEX"] = "1"  # never the network
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(good),
            str(broken),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr

    listed = subprocess.run(
        [str(python), "-m", "turing.cli", "list"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr
    assert "tiny-plugin-system  (plugin-tests/Tiny-v0)" in listed.stdout
    assert "agent-inference" in listed.stdout
    warnings = [line for line in listed.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1, listed.stderr
    assert "plugin 'broken = broken_plugin' from turing-broken-plugin 0.1.0" in warnings[0]
    assert "ImportError: needs lab_driver" in warnings[0] and "skipped" in warnings[0]

    # Its Gymnasium id is registered by `import turing` alone, before any system is looked
    # up (Gymnasium 1.x loads no plugins itself).
    code = "import gymnasium, turing; print(gymnasium.make('plugin-tests/Tiny-v0').unwrapped.system.name)"
    made = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, env=environment, timeout=300
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "tiny-plugin-system"

    # The parent environment does not see the plugin: it was installed into the child only.
    assert "tiny-plugin-system" not in turing.registrations()

    # The file the plugin was made from still works with --system-module (a user following
    # the tutorial after installing their plugin): the same code, registered once.
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "tiny_plugin.py").write_text(system_module("Tiny", "tiny-plugin-system"))
    again = subprocess.run(
        [str(python), "-m", "turing.cli", "list", "--system-module", "tiny_plugin.py"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path / "work",
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("tiny-plugin-system  (plugin-tests/Tiny-v0)") == 1
