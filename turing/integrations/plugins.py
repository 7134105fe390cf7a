"""Systems from other installed packages and from modules the user names.

Two ways make a system known to turing without changing turing:

* **Entry points.** An installed package declares, in its ``pyproject.toml``::

      [project.entry-points."turing.systems"]
      my-sensor = "my_package.sensor"            # a module: importing it registers
      my-variants = "my_package:register_all"    # a callable: calling it registers

  (an entry point may also name a :class:`turing.System` subclass, which is registered as
  it is). They are loaded by ``import turing`` (so that their Gymnasium ids exist after it
  alone), and in any case before the registry is first read; Gymnasium 1.x no longer loads
  plugins, so this is turing's own loader. A plugin that fails to load is reported as one line on
  stderr (logger ``turing.integrations.plugins``) and skipped: one broken package must not take the
  command line down.
* **Modules.** ``--system-module MODULE`` on every command, or :func:`load_system_module`
  in Python, imports a module by dotted name or by the path of a ``.py`` file. The user
  asked for it by name, so failing to import it is an error, not a warning.

Modules loaded with :func:`load_system_module` are also listed in the environment variable
``TURING_SYSTEM_MODULES`` (``os.pathsep``-separated), which child processes inherit and
import when they look a system up: a process pool or a sweep's local workers then know the
same systems as the command that started them.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import os
import sys
import traceback
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from turing.contracts.legacy import LegacySystemWarning
from turing.contracts.system import System
from turing.errors import UserError
from turing.integrations.registry import (
    add_loader,
    register_system,
    registered,
    registered_names,
    registration_source,
    set_plugin_label,
    unregister_system,
)

ENTRY_POINT_GROUP = "turing.systems"
"""The entry-point group that installed packages declare their systems in."""

MODULES_VARIABLE = "TURING_SYSTEM_MODULES"
"""Environment variable listing the modules loaded with :func:`load_system_module`."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that failed to load and was skipped.

    Attributes:
        entry_point: ``name = value`` of the entry point (or the module's name).
        distribution: the installed package that declares it (``name version``).
        error: ``ExceptionType: message``, with the place it was raised.
    """

    entry_point: str
    distribution: str
    error: str

    def __str__(self) -> str:
        return (
            f"turing: plugin {self.entry_point!r} from {self.distribution} failed to load and "
            f"was skipped: {self.error}"
        )


_scanned = False
_attempted: set[tuple[str, str, str]] = set()
_failures: list[PluginFailure] = []
_loaded_modules: list[str] = []


def load_plugins(*, rescan: bool = False) -> list[PluginFailure]:
    """Loads the systems of every installed ``turing.systems`` entry point, once.

    ``import turing`` calls this (and the registry before it is first read), so calling it
    yourself is only needed after installing a plugin into a running process
    (``rescan=True``). Modules listed in ``TURING_SYSTEM_MODULES`` are imported too.

    Args:
        rescan: look for entry points again; those already loaded are not loaded twice.

    Returns:
        the plugins that failed in this call (each also logged as one warning line).
    """
    global _scanned
    if _scanned and not rescan:
        return []
    # Set first: a plugin that reads the registry while it loads must not recurse.
    _scanned = True
    failures = []
    for entry_point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=_entry_point_key):
        key = _entry_point_key(entry_point)
        if key in _attempted:
            continue
        _attempted.add(key)
        distribution = _distribution_label(entry_point)
        label = f"{entry_point.name} = {entry_point.value}"
        failure = _load(
            lambda ep=entry_point: _register_from(ep.load(), ep.value),
            label,
            distribution,
            f"plugin {entry_point.name} from {distribution}",
            entry_point.module,
        )
        if failure is not None:
            failures.append(failure)
    for module in _inherited_modules():
        failure = _load(
            lambda m=module: _inherited_import(m),
            module,
            f"${MODULES_VARIABLE}",
            f"module {module} from ${MODULES_VARIABLE}",
            Path(module).stem if module.endswith(".py") else module,
        )
        if failure is not None:
            failures.append(failure)
    return failures


def plugin_failures() -> list[PluginFailure]:
    """Every plugin that failed to load in this process so far."""
    return list(_failures)


def load_system_module(module: str | os.PathLike) -> ModuleType:
    """Imports a module that registers systems (what ``--system-module`` does).

    Args:
        module: a dotted module name importable from ``sys.path`` (``my_lab.sensor``), or
            the path of a ``.py`` file (imported under its file name, ``my_sensor``).

    Returns:
        the module. Loading the same module twice returns it without running it again.

    Raises:
        UserError: one line naming the module and what went wrong (not found, or the
            exception its code raised and where).
    """
    text = os.fspath(module)
    path = Path(text).expanduser()
    if text.endswith(".py") or os.sep in text or (os.altsep and os.altsep in text):
        if not path.is_file():
            what = "is a folder, not a .py file" if path.is_dir() else "no such file"
            raise UserError(
                f"--system-module {text}: {what}; give the path of a .py file or a module name"
            )
        loaded = _import_file(path.resolve(), text)
        _remember(str(path.resolve()))
        return loaded
    try:
        loaded = importlib.import_module(text)
    except ModuleNotFoundError as exc:
        if exc.name and (text == exc.name or text.startswith(exc.name + ".")):
            raise UserError(
                f"--system-module {text}: no module named {exc.name!r}; give an importable "
                "module name (installed, or on PYTHONPATH) or the path of a .py file"
            ) from None
        raise UserError(f"--system-module {text}: importing it failed: {_describe(exc)}") from None
    except Exception as exc:
        raise UserError(f"--system-module {text}: importing it failed: {_describe(exc)}") from None
    _remember(text)
    return loaded


def system_modules() -> tuple[str, ...]:
    """The modules loaded with :func:`load_system_module` in this process, in order (what
    a worker process must import to know the same systems)."""
    return tuple(_loaded_modules)


def system_module_of(module: str) -> str | None:
    """The ``--system-module`` value (as loaded here, or inherited by this worker process)
    that imported ``module`` (a registration's source), or ``None``: a built-in system, an
    installed plugin, or a module imported otherwise."""
    for loaded in [*_loaded_modules, *_inherited_modules()]:
        if loaded.endswith(".py") and Path(loaded).stem == module:
            return loaded
        if not loaded.endswith(".py") and (module == loaded or module.startswith(loaded + ".")):
            return loaded
    return None


# ----------------------------------------------------------------------------- helpers
def _load(action, label: str, distribution: str, source: str, module: str) -> PluginFailure | None:
    """Runs ``action`` (which registers systems) for the plugin whose code is ``module``.

    On failure, the systems the plugin's own code registered are removed (a plugin is
    loaded whole or not at all), one line is logged and the failure returned. Systems of
    *other* modules that the failing plugin imported, completely, stay: another plugin
    (which finds its module already imported, so registers nothing itself) owns them. A
    plugin that loads claims the systems its module registered while another one imported
    it.
    """
    before = registered_names()
    try:
        with registration_source(source):
            action()
    except (Exception, SystemExit) as exc:
        for name in registered_names() - before:
            found = registered(name)
            origin = found.source if found is not None else ""
            if _belongs(origin, module) or not _imported(origin):
                unregister_system(name)
            else:
                set_plugin_label(name, "")
        failure = PluginFailure(entry_point=label, distribution=distribution, error=_describe(exc))
        _failures.append(failure)
        logger.warning("%s", failure)
        return failure
    for name in registered_names():
        found = registered(name)
        if found is not None and not found.plugin and _belongs(found.source, module):
            set_plugin_label(name, source)
    return None


def _belongs(origin: str, module: str) -> bool:
    """Whether module ``origin`` is ``module`` or inside its package."""
    return bool(module) and (origin == module or origin.startswith(module + "."))


def _imported(module: str) -> bool:
    """Whether ``module`` was imported to the end (a failed import leaves sys.modules)."""
    loaded = sys.modules.get(module)
    spec = getattr(loaded, "__spec__", None)
    return loaded is not None and not getattr(spec, "_initializing", False)


def _register_from(loaded: Any, value: str) -> None:
    """Registers what an entry point names: a module registered on import; a System
    subclass is registered; any other callable is called."""
    if isinstance(loaded, ModuleType):
        return
    if inspect.isclass(loaded) and issubclass(loaded, System):
        register_system(loaded)
        return
    if callable(loaded):
        loaded()
        return
    raise TypeError(
        f"{value} is a {type(loaded).__name__}; name a module, a System subclass or a function"
    )


def _inherited_import(text: str) -> ModuleType:
    """Imports a module inherited from the process that started this one, which has already
    said whatever its classes warn about (a system written for turing-learning 0.1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LegacySystemWarning)
        return _import(text)


def _import(text: str) -> ModuleType:
    path = Path(text)
    if text.endswith(".py") and path.is_file():
        return _import_file(path.resolve(), text)
    return importlib.import_module(text)


def _import_file(path: Path, text: str) -> ModuleType:
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None:
        if _same_file(getattr(existing, "__file__", None), path):
            return existing  # this file, or the same code installed (a plugin made from it)
        raise UserError(
            f"--system-module {text}: a different module named {name!r} is already imported "
            f"({getattr(existing, '__file__', 'built in')}); rename the file"
        )
    if not name.isidentifier():
        raise UserError(
            f"--system-module {text}: {name!r} is not a module name; rename the file (letters, digits, _)"
        )
    found = _find_spec(name)
    if found is not None and found.origin and Path(found.origin).resolve() != path:
        if _same_file(found.origin, path):
            # The file was packaged as a plugin and installed: the same code, imported once
            # under its name, so the plugin and --system-module register it once.
            try:
                return importlib.import_module(name)
            except UserError:
                raise
            except Exception as exc:
                raise UserError(
                    f"--system-module {text}: importing it failed: {_describe(exc)}"
                ) from None
        raise UserError(
            f"--system-module {text}: another module named {name!r} is installed "
            f"({found.origin}) and differs from this file; rename the file, or (a plugin made "
            "from it) reinstall its package from this file or leave out --system-module"
        )
    # Its folder goes on sys.path so that worker processes (which inherit sys.path) can
    # import it by name, as the module that registered the system.
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"--system-module {text}: cannot import this file; give a .py file")
    loaded = importlib.util.module_from_spec(spec)
    # In sys.modules before it runs, as a normal import: dataclasses, pickling and
    # `python -m`-style self-references look the module up there.
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except UserError:
        del sys.modules[name]
        raise
    except Exception as exc:
        del sys.modules[name]
        raise UserError(f"--system-module {text}: importing it failed: {_describe(exc)}") from None
    return loaded


def _same_file(other: str | None, path: Path) -> bool:
    """Whether ``other`` is ``path`` or a copy of it (the same bytes)."""
    if not other:
        return False
    try:
        other_path = Path(other).resolve()
        return other_path == path or other_path.read_bytes() == path.read_bytes()
    except OSError:
        return False


def _find_spec(name: str):
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def _remember(module: str) -> None:
    if module not in _loaded_modules:
        _loaded_modules.append(module)
    inherited = _inherited_modules()
    if module not in inherited:
        os.environ[MODULES_VARIABLE] = os.pathsep.join([*inherited, module])


def _inherited_modules() -> list[str]:
    return [m for m in os.environ.get(MODULES_VARIABLE, "").split(os.pathsep) if m]


def _entry_point_key(entry_point: metadata.EntryPoint) -> tuple[str, str, str]:
    dist = entry_point.dist.name if entry_point.dist is not None else ""
    return dist, entry_point.name, entry_point.value


def _distribution_label(entry_point: metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown package"


TURING_FOLDER = Path(__file__).resolve().parents[1]


def _describe(exc: BaseException) -> str:
    """``Type: message (file:line)``: the user's file and line where there is one (the
    innermost frame outside turing's own code; for a syntax error, where it is)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{type(exc).__name__}: {exc.msg} ({exc.filename}:{exc.lineno})"
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    # Import machinery frames ("<frozen importlib._bootstrap>") tell the user nothing.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    theirs = [f for f in frames if not _in_turing(f.filename)]
    if frames:
        last = (theirs or frames)[-1]
        text += f" ({last.filename}:{last.lineno})"
    return text


def _in_turing(filename: str) -> bool:
    try:
        Path(filename).resolve().relative_to(TURING_FOLDER)
    except (ValueError, OSError):
        return False
    return True


# The registry loads the plugins the first time it is read.
add_loader(load_plugins)
