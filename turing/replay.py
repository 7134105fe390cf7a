"""Replays of interrogation trials from a run folder (``turing replay``).

A replay takes the last generation of an evolutionary run (``populations.npz``: both
populations ranked, best first), picks one interrogator and one model by rank, and plays
trials of that interrogator with the genuine system and with the model side by side, step
by step, from a seeded random stream: the same command shows the same trials.

What is shown is the system's business, through the optional hook
:meth:`turing.System.replay_scene`: a :class:`ReplayScene` simulates the two trials in a
world it can draw (the e-puck's PyBullet arenas, case study 1's agent on its track) and
gives frames for videos. A system without a scene is simulated with its own ``reset`` and
``step`` and drawn as a chart growing step by step. Every replay also writes a figure of
the observations, the actions and the interrogator's running judgement over time, and the
replayed trials as NPZ.

Trial ``0`` of a scene is genuine and trial ``1`` the model (trial axis last, as in every
simulator). The trials run on the trial engine (:class:`turing.engine.Engine`, stepwise,
with the scene as the simulator): the interrogator reads observation ``t``, updates, and
its outputs ``1..`` set the input that produces observation ``t + 1``; its output ``0``
after the last observation is the judgement (>= 0.5: genuine). In passive modes the
system's natural input drives both trials, as in training.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from turing.agents import ModelPopulation
from turing.config import RunConfig
from turing.engine import JUDGE, PASSIVE, Engine, Judge, Noise, stream_key
from turing.errors import UserError
from turing.evaluator import COEVOLUTION_MODES, interrogator_shape
from turing.registry import make_system
from turing.rundir import RunDir, atomic_write_npz
from turing.system import System

Tensor = torch.Tensor

VIDEO_SUFFIXES = (".mp4", ".gif")
GUI_KEYS_HELP = "space: pause/resume   n: one step   q: quit"


# ----------------------------------------------------------------------------- scenes
@dataclass(frozen=True)
class SceneOptions:
    """How a scene is shown.

    Attributes:
        gui: open a window (PyBullet's GUI) instead of rendering headless.
        size: ``(width, height)`` of frames and window, pixels.
        labels: names of the two trials (``genuine``, ``model #0``).
        renderer: offscreen renderer for frames (``auto``, ``tiny``, ``egl``; see
            :class:`turing.envs.bullet_view.BulletView`).
    """

    gui: bool = False
    size: tuple[int, int] = (480, 270)
    labels: tuple[str, str] = ("genuine", "model")
    renderer: str = "auto"


@dataclass
class StepView:
    """What a scene shows at one step of one trial pair (arrays ``[..., 2]``: genuine, model).

    Attributes:
        trial: index of the pair in the replay.
        t: step (observation index), ``0 .. steps - 1``.
        steps: observations per trial.
        observation: ``[obs, 2]`` observation ``t``.
        judgement: ``[2]`` the interrogator's output 0 after reading it (>= 0.5: genuine).
        action: ``[act, 2]`` the input that produces observation ``t + 1`` (``None`` at the
            last step).
        labels: names of the two trials.
    """

    trial: int
    t: int
    steps: int
    observation: np.ndarray
    judgement: np.ndarray
    action: np.ndarray | None
    labels: tuple[str, str]


class ReplayScene(ABC):
    """A system's view of a replay: simulates a genuine and a model trial side by side
    (trial axis last, ``n = 2``) and draws them.

    Subclasses implement :meth:`reset` and :meth:`step` (as :meth:`turing.System.reset` and
    :meth:`turing.System.step` for the two trials, drawing from the same noise),
    :meth:`show` and :meth:`frame`; GUI scenes also :meth:`keys` and :meth:`is_open`.

    Args:
        system: the system.
        options: how to show it.

    Attributes:
        supports_gui: whether the scene can show itself in a window (``--gui``).
    """

    supports_gui: bool = False

    def __init__(self, system: System, options: SceneOptions):
        self.system = system
        self.options = options

    @abstractmethod
    def reset(self, params: Tensor, noise: Noise) -> Tensor:
        """Starts the two trials with simulation parameters ``[S, 2]``, drawing from
        ``noise`` as :meth:`turing.System.reset` does; returns observation 0, ``[obs, 2]``."""

    @abstractmethod
    def step(self, action: Tensor, noise: Noise) -> Tensor:
        """Applies ``action`` ``[act, 2]``; returns the next observation ``[obs, 2]``."""

    @abstractmethod
    def show(self, view: StepView) -> None:
        """Draws the current step (after every observation, when a window or a video shows
        the replay)."""

    @abstractmethod
    def frame(self) -> np.ndarray:
        """The current picture, RGB ``[height, width, 3]`` uint8."""

    def keys(self) -> set[str]:
        """Keys pressed in the window since the last call (GUI scenes)."""
        return set()

    def is_open(self) -> bool:
        """False once the user closed the window."""
        return True

    def close(self) -> None:  # noqa: B027 (optional hook: most scenes hold nothing)
        """Releases windows and clients."""


class SimulatedScene(ReplayScene):
    """A scene whose trials run on the system's own batched simulator (``n = 2``); the
    simulator's state is kept in :attr:`state` for drawing."""

    def reset(self, params: Tensor, noise: Noise) -> Tensor:
        self.params = params
        self.state, observation = self.system.reset(params, noise)
        return observation

    def step(self, action: Tensor, noise: Noise) -> Tensor:
        self.state, observation = self.system.step(self.state, self.params, action, noise)
        return observation


class ChartScene(SimulatedScene):
    """The scene of systems without one: the replay figure of the current trial, drawn up
    to the current step (headless only)."""

    def reset(self, params: Tensor, noise: Noise) -> Tensor:
        self._rows: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
        return super().reset(params, noise)

    def show(self, view: StepView) -> None:
        if view.t == 0:
            self._rows = []
        self._rows.append((view.observation, view.judgement, view.action))
        self._view = view

    def frame(self) -> np.ndarray:
        view = self._view
        observation = np.stack([r[0] for r in self._rows])
        judgement = np.stack([r[1] for r in self._rows])
        actions = [r[2] for r in self._rows if r[2] is not None]
        action = np.stack(actions) if actions else np.zeros((0, self.system.action_size, 2))
        episode = Episode(observation, judgement, action, judgement[-1] >= 0.5)
        width, height = self.options.size
        dpi = 100
        fig = draw_figure(
            self.system, [episode], view.labels, view.steps, figsize=(width / dpi, height / dpi)
        )
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
        fig.set_dpi(dpi)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()


# ----------------------------------------------------------------------------- episodes
@dataclass
class Episode:
    """One replayed trial pair (last axis: genuine, model).

    Attributes:
        observation: ``[T, obs, 2]``.
        judgement: ``[T, 2]`` the interrogator's output 0 after each observation.
        action: ``[T - 1, act, 2]`` the inputs applied between observations.
        judged_genuine: ``[2]`` the final judgements.
    """

    observation: np.ndarray
    judgement: np.ndarray
    action: np.ndarray
    judged_genuine: np.ndarray

    @property
    def correct(self) -> np.ndarray:
        """``[2]``: the genuine trial judged genuine, the model judged counterfeit."""
        return np.array([bool(self.judged_genuine[0]), not bool(self.judged_genuine[1])])


@dataclass
class ReplayResult:
    """What a replay produced.

    Attributes:
        episodes: the replayed trial pairs.
        labels: names of the two trials.
        figure: path of the figure.
        data: path of the NPZ with the episodes.
        video: path of the video, if one was asked for.
    """

    episodes: list[Episode]
    labels: tuple[str, str]
    figure: Path
    data: Path
    video: Path | None = None

    def summary(self) -> list[str]:
        """One line per trial pair: the judgements and whether they were right."""
        lines = []
        for k, e in enumerate(self.episodes):
            verdict = ["genuine" if g else "counterfeit" for g in e.judged_genuine]
            marks = ["right" if c else "wrong" for c in e.correct]
            lines.append(
                f"trial {k + 1}: {self.labels[0]} judged {verdict[0]} (o0 {e.judgement[-1, 0]:.2f}, "
                f"{marks[0]}); {self.labels[1]} judged {verdict[1]} (o0 {e.judgement[-1, 1]:.2f}, {marks[1]})"
            )
        return lines


# ----------------------------------------------------------------------------- the replay
class Replay:
    """An interrogator and a model of a finished evolutionary run, ready to be replayed.

    Args:
        run_dir: the run folder.
        interrogator: rank of the interrogator in the last generation (0 = best).
        model: rank of the model (0 = best).

    Raises:
        UserError: for a folder that is not a finished evolutionary run of a registered
            system, or a rank out of range.
    """

    def __init__(self, run_dir: str | os.PathLike, interrogator: int = 0, model: int = 0):
        self.run_dir = RunDir(run_dir)
        self.config = RunConfig.from_run_folder(
            self.run_dir.read_config(), str(self.run_dir.config_path)
        )
        self.system = make_system(self.config.system, **self.config.system_options)
        if self.config.mode not in COEVOLUTION_MODES:
            raise UserError(
                f"{self.run_dir.path} is a run of mode {self.config.mode!r}, which has no "
                f"interrogators to replay; replay a run of mode {', '.join(COEVOLUTION_MODES)}"
            )
        populations = self.run_dir.read_populations()
        missing = {"interrogator_weights", "model_genes"} - set(populations)
        if missing:
            raise UserError(
                f"{self.run_dir.path}/populations.npz lacks {', '.join(sorted(missing))}; it was "
                "not written by an evolutionary run of this version"
            )
        self.mode = self.config.mode
        self.steps = int(self.config.steps or self.system.default_steps)
        self.shape = interrogator_shape(self.system, self.mode, self.config.hidden)
        weights = np.asarray(populations["interrogator_weights"], dtype=np.float64)
        genes = np.asarray(populations["model_genes"], dtype=np.float64)
        if weights.ndim != 2 or weights.shape[1] != self.shape.n_weights:
            raise UserError(
                f"{self.run_dir.path}/populations.npz holds interrogators of {weights.shape[-1]} "
                f"weights, but {self.system.name} in mode {self.mode} needs {self.shape.n_weights}; "
                "the run folder is damaged"
            )
        self.interrogator = _rank(interrogator, len(weights), "--interrogator", "interrogators")
        self.model = _rank(model, len(genes), "--model", "models")
        self.weights = torch.as_tensor(weights[self.interrogator], dtype=torch.float32)
        self.model_genes = genes[self.model]
        self.truth = self.system.make_truth(self.config.true_params)
        genuine = torch.tensor(self.truth.simulation, dtype=torch.float32).reshape(-1, 1)
        model = ModelPopulation(self.system, genes[self.model : self.model + 1]).simulation(
            "cpu", truth=self.truth
        )
        self.params = torch.cat([genuine, model.to(torch.float32)], dim=1)
        self.labels = ("genuine", f"model #{self.model}")

    def scene(self, options: SceneOptions) -> ReplayScene:
        """The system's scene, or a :class:`ChartScene` for systems without one.

        Raises:
            UserError: a GUI asked of a system whose replay has no window.
        """
        scene = self.system.replay_scene(options)
        if scene is None:
            scene = ChartScene(self.system, options)
        if options.gui and not scene.supports_gui:
            scene.close()
            raise UserError(
                f"{self.system.name} has no replay scene to show in a window; write a video "
                "of its replay with --video FILE.mp4 (or .gif) instead"
            )
        return scene

    def play(
        self,
        trials: int = 1,
        seed: int | None = None,
        gui: bool = False,
        video: str | os.PathLike | None = None,
        figure: str | os.PathLike | None = None,
        size: tuple[int, int] = (480, 270),
        fps: float = 10.0,
        renderer: str = "auto",
        scene: ReplayScene | None = None,
    ) -> ReplayResult:
        """Plays ``trials`` trial pairs; writes the figure, the episodes and the video.

        Args:
            trials: trial pairs, played one after the other.
            seed: seed of the replay's random stream (default: the run's seed).
            gui: show the scene in a window, paced at ``fps`` steps per second.
            video: write the scene to this ``.mp4`` (needs imageio-ffmpeg) or ``.gif``.
            figure: path of the figure (default: next to the video, else in the run
                folder's ``plots/``); the episodes go next to it as ``.npz``.
            size: frame size ``(width, height)``, pixels (rounded up to even numbers).
            fps: frames per second of the video and pace of the window.
            renderer: offscreen renderer of 3-D scenes (``auto``, ``tiny``, ``egl``).
            scene: a scene to use instead of the system's (for tests and custom views).

        Returns:
            the :class:`ReplayResult`.

        Raises:
            UserError: bad sizes, an unusable video or figure path, a GUI without a display.
        """
        if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise UserError(f"--trials must be a positive whole number, got {trials!r}")
        if not fps > 0:
            raise UserError(f"--fps must be positive, got {fps!r}")
        seed = self.config.seed if seed is None else int(seed)
        if seed < 0:
            raise UserError(f"--seed must be a non-negative whole number, got {seed}")
        size = tuple(int(v) + int(v) % 2 for v in size)  # H.264 needs even sizes
        stem = f"replay-i{self.interrogator}-m{self.model}-seed{seed}"
        video_path = None if video is None else check_video_path(video)
        figure_path = (
            Path(figure)
            if figure
            else (
                video_path.with_suffix(".png")
                if video_path
                else self.run_dir.plots_dir / f"{stem}.png"
            )
        )
        _check_writable(figure_path, "figure", "--figure FILE.png")
        options = SceneOptions(gui=gui, size=size, labels=self.labels, renderer=renderer)
        scene = scene or self.scene(options)
        writer = None
        try:
            writer = open_video(video_path, fps) if video_path else None
            engine = Engine(_SceneSystem(scene), self.steps, backend="eager")
            episodes = []
            for trial in range(trials):
                episode = self._play_trial(engine, scene, trial, seed, writer, gui, fps)
                if episode is None:  # the window was closed
                    break
                episodes.append(episode)
            if gui and episodes and scene.is_open():
                _hold(scene)
        finally:
            if writer is not None:
                writer.close()
            scene.close()
        if not episodes:
            raise UserError("the replay was stopped before its first trial ended; nothing to save")
        data_path = figure_path.with_suffix(".npz")
        self._save(episodes, figure_path, data_path, seed)
        return ReplayResult(episodes, self.labels, figure_path, data_path, video_path)

    # ------------------------------------------------------------------ internals
    def _play_trial(self, engine, scene, trial, seed, writer, gui, fps) -> Episode | None:
        """One trial pair on the engine, drawn at every step; ``None`` if the window was
        closed. Pair ``trial`` uses streams ``2 trial`` (genuine) and ``2 trial + 1``
        (model) of the replay's key, and shares input stream ``trial``, as in training."""
        system, mode = self.system, self.mode
        streams = torch.tensor([2 * trial, 2 * trial + 1])
        noise = Noise(
            torch.tensor(stream_key(seed, "replay"), dtype=torch.int64).reshape(2, 1),
            streams,
            input_stream=streams // 2,
        )
        judge = Judge(
            self.shape,
            self.weights.reshape(1, -1),
            torch.zeros(2, dtype=torch.long),
            sees_input=mode == "passive-io",
        )
        observations, judgements, actions = [], [], []
        paused = [False]

        def observe(t, observation, out, action) -> None:
            observations.append(observation.detach().cpu().numpy().astype(np.float64))
            judgements.append(out[0].detach().cpu().numpy().astype(np.float64))
            if action is not None:
                actions.append(action.detach().cpu().numpy().astype(np.float64))
            view = StepView(
                trial, t, self.steps, observations[-1], judgements[-1],
                None if action is None else actions[-1], self.labels,
            )  # fmt: skip
            try:
                if gui or writer is not None:  # drawing is for the eyes only
                    scene.show(view)
                if writer is not None:
                    writer.append_data(scene.frame())
                if gui and not _pace(scene, fps, paused):
                    raise _Stopped
            except _Stopped:
                raise
            except Exception:
                if gui and not scene.is_open():  # the window was closed under a call
                    raise _Stopped from None
                raise

        inputs = JUDGE if mode == "interrogate" else PASSIVE
        try:
            engine.run(self.params, noise, judge, inputs, observe=observe)
        except _Stopped:
            return None
        except Exception:
            if gui and not scene.is_open():
                return None
            raise
        judgement = np.stack(judgements)
        action_array = np.stack(actions) if actions else np.zeros((0, system.action_size, 2))
        return Episode(np.stack(observations), judgement, action_array, judgement[-1] >= 0.5)

    def _save(self, episodes: list[Episode], figure_path: Path, data_path: Path, seed: int) -> None:
        fig = draw_figure(self.system, episodes, self.labels, self.steps)
        title = (
            f"{self.system.name} | {self.mode}",
            f"interrogator #{self.interrogator} vs genuine and {self.labels[1]} | replay seed {seed}",
        )
        fig.suptitle("\n".join(title) if len(episodes) == 1 else " | ".join(title), fontsize=9)
        try:
            figure_path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(figure_path, dpi=110)
            atomic_write_npz(
                data_path,
                {
                    "observation": np.stack([e.observation for e in episodes]),
                    "judgement": np.stack([e.judgement for e in episodes]),
                    "action": np.stack([e.action for e in episodes]),
                    "judged_genuine": np.stack([e.judged_genuine for e in episodes]),
                    "params": self.params.numpy(),
                    "model_genes": self.model_genes,
                    "interrogator_weights": self.weights.numpy(),
                    "ranks": np.array([self.interrogator, self.model]),
                    "seed": np.array(seed),
                },
            )
        except OSError as exc:
            raise UserError(
                f"cannot write {figure_path} ({exc.strerror}); give another place with --figure FILE.png"
            ) from None


class _Stopped(Exception):
    """The replay's window was closed (or q pressed) during a trial."""


class _SceneSystem:
    """A replay scene as the engine's system: the scene simulates (and draws) the two
    trials; everything else (sizes, bounds, the passive controller) is the system's."""

    def __init__(self, scene: ReplayScene):
        self.scene = scene
        self.system = scene.system

    def __getattr__(self, name: str):
        return getattr(self.system, name)

    def native_kernel(self, steps: int):
        return None

    def reset(self, params: Tensor, noise: Noise, start=None):
        return None, self.scene.reset(params, noise)

    def step(self, state, params: Tensor, action: Tensor, noise: Noise):
        return None, self.scene.step(action, noise)


def replay(
    run_dir: str | os.PathLike, interrogator: int = 0, model: int = 0, **play: Any
) -> ReplayResult:
    """Replays trials of a run: :class:`Replay` then :meth:`Replay.play` (``**play``)."""
    return Replay(run_dir, interrogator, model).play(**play)


def _rank(value: Any, size: int, flag: str, what: str) -> int:
    if value in (None, "best"):
        return 0
    try:
        rank = int(value)
    except (TypeError, ValueError):
        raise UserError(f"{flag} must be 'best' or a rank 0..{size - 1}, got {value!r}") from None
    if not 0 <= rank < size:
        raise UserError(
            f"{flag} {rank} is out of range: the run kept {size} {what}; give 0..{size - 1} (0 = best)"
        )
    return rank


# ----------------------------------------------------------------------------- pacing
def _pace(scene: ReplayScene, fps: float, paused: list[bool]) -> bool:
    """Waits one step's time in the window, handling the keys; False if the user quit."""
    deadline = time.monotonic() + 1.0 / fps
    while True:
        if not scene.is_open():
            return False
        keys = scene.keys()
        if "q" in keys:
            return False
        if " " in keys:
            paused[0] = not paused[0]
        if "n" in keys:
            paused[0] = True
            return True
        if not paused[0] and time.monotonic() >= deadline:
            return True
        time.sleep(0.01)


def _hold(scene: ReplayScene) -> None:
    """Keeps the finished replay on screen until the window is closed or q is pressed."""
    while scene.is_open() and "q" not in scene.keys():
        time.sleep(0.02)


# ----------------------------------------------------------------------------- files
def check_video_path(path: str | os.PathLike) -> Path:
    """``path`` if a video can be written there.

    Raises:
        UserError: an unknown suffix, a folder that does not exist or is not writable, or
            ``.mp4`` without imageio-ffmpeg.
    """
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise UserError(
            f"--video {path}: unknown video type {path.suffix or '(none)'!r}; name a .mp4 or .gif file"
        )
    _check_writable(path, "video", "--video FILE")
    if path.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise UserError(
                "writing .mp4 needs imageio-ffmpeg: pip install 'turing-learning[video]' "
                "(or write a .gif)"
            ) from None
    return path


def _check_writable(path: Path, what: str, flag: str) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if path.is_dir():
        raise UserError(
            f"cannot write the {what} to {path}: it is a folder; give a file name with {flag}"
        )
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(
            f"cannot write the {what} to {path}: {existing} is not a writable folder; give another place with {flag}"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(
            f"cannot write the {what} to {path}: the file is read-only; give another place with {flag}"
        )


def open_video(path: Path, fps: float):
    """An imageio writer for ``path`` (``.mp4`` or ``.gif``) with ``append_data`` and ``close``."""
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.suffix.lower() == ".gif":
            return imageio.get_writer(path, mode="I", duration=1000.0 / fps, loop=0)
        return imageio.get_writer(path, fps=fps, codec="libx264", quality=7, macro_block_size=1)
    except OSError as exc:
        raise UserError(
            f"cannot write the video to {path} ({exc}); give another place with --video FILE"
        ) from None


# ----------------------------------------------------------------------------- figure
def draw_figure(
    system: System, episodes: list[Episode], labels: tuple[str, str], steps: int, figsize=None
):
    """The replay figure: per trial pair (columns), the observations, the actions and the
    interrogator's running judgement of the genuine and the model trial over the steps.

    Observations with more than four channels are drawn as images (channels x steps), one
    per trial; fewer as lines (genuine solid, model dashed).

    Returns:
        the matplotlib figure.
    """
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: no backend, no global figure list

    many = system.observation_size > 4
    rows = ["obs-genuine", "obs-model"] if many else ["obs"]
    rows += ["action", "judgement"]
    columns = min(len(episodes), 4)
    fig = Figure(figsize=figsize or (4.6 * columns, 1.9 * len(rows) + 0.6))
    axes = fig.subplots(len(rows), columns, squeeze=False, sharex=True)
    obs_names = _names(system.observation_names, system.observation_size, "obs")
    act_names = _names(system.action_names, system.action_size, "action")
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    small = figsize is not None
    for c, episode in enumerate(episodes[:columns]):
        t = np.arange(len(episode.observation))
        for r, row in enumerate(rows):
            ax = axes[r][c]
            if row.startswith("obs-"):
                k = 0 if row == "obs-genuine" else 1
                image = np.full((system.observation_size, steps), np.nan)
                image[:, : len(t)] = episode.observation[:, :, k].T
                ax.imshow(
                    image,
                    aspect="auto",
                    interpolation="nearest",
                    origin="lower",
                    cmap="viridis",
                    vmin=np.nanmin([system.observation_low, 0.0])
                    if np.isfinite(system.observation_low)
                    else None,
                    vmax=system.observation_high if np.isfinite(system.observation_high) else None,
                    extent=(-0.5, steps - 0.5, -0.5, system.observation_size - 0.5),
                )
                ax.set_ylabel(f"{labels[k]}\nobs", fontsize=8)
                if system.observation_size <= 12:
                    ax.set_yticks(range(system.observation_size), obs_names, fontsize=6)
            elif row == "obs":
                for i in range(system.observation_size):
                    for k, style in ((0, "-"), (1, "--")):
                        ax.plot(
                            t,
                            episode.observation[:, i, k],
                            style,
                            color=colors[i % len(colors)],
                            lw=1,
                            label=f"{obs_names[i]} ({labels[k]})",
                        )
                ax.set_ylabel(
                    ", ".join(obs_names) if system.observation_size <= 2 else "observation",
                    fontsize=8,
                )
            elif row == "action":
                ta = np.arange(len(episode.action))
                for i in range(system.action_size):
                    for k, style in ((0, "-"), (1, "--")):
                        ax.plot(
                            ta,
                            episode.action[:, i, k],
                            style,
                            color=colors[i % len(colors)],
                            lw=1,
                            label=f"{act_names[i]} ({labels[k]})",
                        )
                ax.set_ylabel(
                    ", ".join(act_names) if system.action_size <= 2 else "action", fontsize=8
                )
                margin = 0.03 * (system.action_high - system.action_low)
                ax.set_ylim(system.action_low - margin, system.action_high + margin)
            else:
                ax.plot(t, episode.judgement[:, 0], color="tab:blue", lw=1.3, label=labels[0])
                ax.plot(t, episode.judgement[:, 1], color="tab:orange", lw=1.3, label=labels[1])
                ax.axhline(0.5, color="k", lw=0.7, ls=":")
                ax.set_ylim(-0.02, 1.02)
                ax.set_ylabel("judgement o0", fontsize=8)
                ax.set_xlabel("step", fontsize=8)
            ax.set_xlim(-0.5, steps - 0.5)
            ax.tick_params(labelsize=7)
            if not row.startswith("obs-"):
                ax.grid(alpha=0.3)
            if c == 0 and not row.startswith("obs-") and not small:
                ax.legend(fontsize=6, loc="upper left", ncol=2)
        if not small:
            verdict = ", ".join(
                f"{lab}: {'genuine' if g else 'counterfeit'}"
                for lab, g in zip(labels, episode.judged_genuine, strict=True)
            )
            axes[0][c].set_title(f"trial {c + 1} | {verdict}", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()) if not small else None)
    return fig


def _names(names: tuple[str, ...], size: int, prefix: str) -> list[str]:
    return list(names) if len(names) == size else [f"{prefix} {i}" for i in range(size)]
