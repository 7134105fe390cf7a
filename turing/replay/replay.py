"""Replays of interrogation trials from a run folder (``turing replay``).

A replay takes the last generation of an evolutionary run (``populations.npz``: both
populations ranked, best first), picks one interrogator and one model by rank, and plays
trials of that interrogator with the genuine system and with the model side by side, step
by step, from a seeded random stream: the same command shows the same trials.

What is shown is the system's business, through the optional hook
:meth:`turing.System.replay_scene`: a :class:`ReplayScene` simulates the two trials in a
world it can draw (the e-puck's PyBullet arenas, case study 1's agent on its track) and
gives the frames of videos and of the replay window (:mod:`turing.replay.window`; the
window's keys and pacing are :mod:`turing.replay.live`, a session of several ranks
:mod:`turing.replay.session`). A system without a scene is simulated with its own ``reset`` and
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from turing.agents import ModelPopulation
from turing.contracts.config import RunConfig
from turing.contracts.presentation import presentation
from turing.engine import JUDGE, PASSIVE, Judge, Noise, stream_key
from turing.engine.evaluator import COEVOLUTION_MODES, interrogator_shape
from turing.errors import UserError
from turing.integrations.registry import make_system
from turing.replay.figure import Episode, draw_figure
from turing.replay.files import check_video_path, check_writable
from turing.replay.live import Request
from turing.replay.player import Player, lost_message
from turing.replay.recorded import RecordedGenuineScene, external_genuine, load_recorded
from turing.replay.scenes import (
    VIDEO_SIZE,
    WINDOW_SIZE,
    ChartScene,
    ReplayScene,
    SceneOptions,
    StepView,
)
from turing.runs.integrity import check_kinds
from turing.runs.limits import check_replay_size
from turing.runs.provenance import system_hint
from turing.runs.result import Result
from turing.runs.rundir import RunDir, atomic_write_npz, save_figure
from turing.runs.setup import check_engine

Tensor = torch.Tensor


@dataclass
class ReplayResult:
    """What a replay produced.

    Attributes:
        episodes: the trial pairs played to the end.
        labels: names of the two trials.
        figure: path of the figure (``None`` if no trial pair was played to the end).
        data: path of the NPZ with the episodes (``None`` likewise).
        video: path of the video, if one was asked for.
        request: ``model`` or ``interrogator`` if the window's keys asked for the next
            rank (:func:`turing.replay.session.watch` follows it), else ``None``.
    """

    episodes: list[Episode]
    labels: tuple[str, str]
    figure: Path | None
    data: Path | None
    video: Path | None = None
    request: str | None = None

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
DAMAGED = (
    "the run folder is damaged or was edited: delete populations.npz and result.json, and "
    "finish the run again with `turing run --resume DIR`"
)


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
        with system_hint(self.run_dir.path, self.config.system):
            self.system = make_system(self.config.system, **self.config.system_options)
        check_engine(self.config.engine, self.config, self.system)
        if self.config.mode not in COEVOLUTION_MODES:
            raise UserError(
                f"{self.run_dir.path} is a run of mode {self.config.mode!r}, which has no "
                f"interrogators to replay; replay a run of mode {', '.join(COEVOLUTION_MODES)}"
            )
        Result.load(self.run_dir.path)  # the folder's integrity (turing.runs.integrity)
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
        where = self.run_dir.path / "populations.npz"
        float64 = np.dtype(np.float64)
        known = ("model_genes", "model_sigma", "interrogator_weights", "interrogator_sigma")
        check_kinds(where, populations, dict.fromkeys(known, float64), DAMAGED)
        weights = np.asarray(populations["interrogator_weights"], dtype=np.float64)
        genes = np.asarray(populations["model_genes"], dtype=np.float64)
        if weights.ndim != 2 or weights.shape[1] != self.shape.n_weights:
            raise UserError(
                f"{self.run_dir.path}/populations.npz holds interrogators of {weights.shape[-1]} "
                f"weights, but {self.system.name} in mode {self.mode} needs {self.shape.n_weights}; "
                "the run folder is damaged"
            )
        if genes.ndim != 2 or genes.shape[1] != len(self.system.parameters) or not len(genes):
            raise UserError(
                f"{self.run_dir.path}/populations.npz holds model genes of shape {genes.shape}, "
                f"but {self.system.name} has {len(self.system.parameters)} parameters; the run "
                "folder is damaged"
            )
        if not (np.isfinite(weights).all() and np.isfinite(genes).all()) or not len(weights):
            raise UserError(
                f"{self.run_dir.path}/populations.npz holds no interrogators, or NaN or infinite "
                "values, which no run writes; the run folder is damaged"
            )
        outside = (genes < self.system.lows - 1e-9) | (genes > self.system.highs + 1e-9)
        if outside.any():
            row, column = (int(i) for i in np.argwhere(outside)[0])
            raise UserError(
                f"{where}: model {row}'s {self.system.parameter_names[column]} = "
                f"{genes[row, column]:g} is outside its bounds, where no run puts genes; "
                f"{DAMAGED}"
            )
        self.interrogator_count, self.model_count = len(weights), len(genes)
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
        self.external = external_genuine(self.config)
        self.recorded = None
        if self.external:
            self.labels = ("genuine (recorded)", self.labels[1])
            if self.mode == "interrogate" and self.interrogator != 0:
                raise UserError(
                    f"the genuine system of {self.run_dir.path} ({self.external}) is outside "
                    "turing: a replay shows the trials it recorded with the best interrogator; "
                    "leave out --interrogator (or give 0)"
                )
            self.recorded = load_recorded(self.run_dir, self.steps, self.system.observation_size)

    def scene(self, options: SceneOptions) -> ReplayScene:
        """The system's scene, or a :class:`ChartScene` for systems without one.

        Raises:
            UserError: a GUI asked of a system whose replay has no window.
        """
        scene = presentation(self.system).replay_scene(options)
        if scene is None:
            scene = ChartScene(self.system, options)
        if self.recorded is not None:
            scene = RecordedGenuineScene(scene, self.recorded, self.external)
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
        size: tuple[int, int] | None = None,
        fps: float = 10.0,
        renderer: str = "auto",
        scene: ReplayScene | None = None,
        window: Any = "auto",
    ) -> ReplayResult:
        """Plays ``trials`` trial pairs; writes the figure, the episodes and the video.

        In a window (``gui``), the replay then waits with its last frame on screen; its
        keys (:mod:`turing.replay.live`) pause it, step it, play further trials, or end it
        asking for the next model or interrogator (:attr:`ReplayResult.request`, which
        :func:`turing.replay.session.watch` follows). The figure and the episodes are
        written after every trial played to the end, so closing the window loses only
        the trial under way.

        Args:
            trials: trial pairs, played one after the other.
            seed: seed of the replay's random stream (default: the run's seed).
            gui: show the replay in a window (:mod:`turing.replay.window`), paced at
                ``fps`` steps per second.
            video: write the frames to this ``.mp4`` (needs imageio-ffmpeg) or ``.gif``.
            figure: path of the figure (default: next to the video, else in the run
                folder's ``plots/``); the episodes go next to it as ``.npz``.
            size: frame size ``(width, height)``, pixels (rounded up to even numbers;
                default: 1280x720 in a window, else 960x540).
            fps: frames per second of the video and pace of the window.
            renderer: offscreen renderer of 3-D scenes (``auto``, ``tiny``, ``egl``).
            scene: a scene to use instead of the system's (for tests and custom views;
                the caller closes it).
            window: with ``gui``, the kind of window to open here (``auto``, ``tk``,
                ``pybullet``), or an open one to use (the caller closes it).

        Returns:
            the :class:`ReplayResult`.

        Raises:
            UserError: bad sizes, an unusable video or figure path, a GUI without a display.
        """
        if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise UserError(f"--trials must be a positive whole number, got {trials!r}")
        if not fps > 0:
            raise UserError(f"--fps must be positive, got {fps!r}")
        check_replay_size(trials, self.steps, self.system)
        if self.recorded is not None and trials > len(self.recorded):
            raise UserError(
                f"--trials {trials}: the run recorded {len(self.recorded)} genuine trials with "
                f"{self.external} to replay; give --trials {len(self.recorded)} or fewer"
            )
        seed = self.config.seed if seed is None else int(seed)
        if seed < 0:
            raise UserError(f"--seed must be a non-negative whole number, got {seed}")
        size = size or (WINDOW_SIZE if gui else VIDEO_SIZE)
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
        check_writable(figure_path, "figure", "--figure FILE.png")
        check_writable(figure_path.with_suffix(".npz"), "replayed trials", "--figure FILE.png")
        data_path = figure_path.with_suffix(".npz")
        options = SceneOptions(gui=gui, size=size, labels=self.labels, renderer=renderer)
        own_scene = scene is None
        scene = scene or self.scene(options)
        episodes: list[Episode] = []
        run = Player(self, scene, seed, video_path, fps)
        request = None
        try:
            if gui and (window is None or isinstance(window, str)):
                from turing.replay.window import open_window

                window = run.own(open_window(size, window or "auto"))
            if not gui:
                window = None
            else:
                window.lost_message = lambda: lost_message(episodes, figure_path, data_path)
            run.start(window)
            played, wanted = 0, trials
            while True:
                if played >= wanted:
                    if not gui:
                        break
                    request = run.controls.hold()
                    if request != "trial":
                        break
                    wanted = played + 1
                episode, request = run.trial(played)
                played += 1
                if episode is not None:
                    episodes.append(episode)
                    if gui:  # the window may be closed any time: keep what was played
                        self._save(episodes, figure_path, data_path, seed)
                if request == "trial":
                    wanted = max(wanted, played + 1)
                elif request is not None:
                    break
        finally:
            run.close()
            if own_scene:
                scene.close()
        if episodes and not gui:
            self._save(episodes, figure_path, data_path, seed)
        if request not in ("model", "interrogator"):
            request = None
        if not episodes:
            return ReplayResult([], self.labels, None, None, None, request)
        return ReplayResult(episodes, self.labels, figure_path, data_path, video_path, request)

    # ------------------------------------------------------------------ internals
    def caption(self) -> str:
        """What is replayed, for the frames' header."""
        caption = f"{self.system.name} | {self.mode} | interrogator #{self.interrogator}"
        return caption + (f" | genuine: {self.external}" if self.external else "")

    def play_trial(self, engine, trial, seed, draw) -> tuple[Episode | None, str | None]:
        """One trial pair on the engine, drawn at every step by ``draw(view)`` (which may
        raise :class:`~turing.replay.live.Request`); the episode (``None`` if it was cut
        short) and the request that cut it. Pair ``trial`` uses streams ``2 trial``
        (genuine) and ``2 trial + 1`` (model) of the replay's key, and shares input stream
        ``trial``, as in training."""
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
        caption = self.caption()

        def observe(t, observation, out, action) -> None:
            observations.append(observation.detach().cpu().numpy().astype(np.float64))
            judgements.append(out[0].detach().cpu().numpy().astype(np.float64))
            if action is not None:
                actions.append(action.detach().cpu().numpy().astype(np.float64))
            view = StepView(
                trial, t, self.steps, observations[-1], judgements[-1],
                None if action is None else actions[-1], self.labels, caption,
            )  # fmt: skip
            draw(view)

        inputs = JUDGE if mode == "interrogate" else PASSIVE
        try:
            engine.run(self.params, noise, judge, inputs, observe=observe)
        except Request as request:
            return None, request.kind
        judgement = np.stack(judgements)
        action_array = np.stack(actions) if actions else np.zeros((0, system.action_size, 2))
        episode = Episode(np.stack(observations), judgement, action_array, judgement[-1] >= 0.5)
        return episode, None

    def _save(self, episodes: list[Episode], figure_path: Path, data_path: Path, seed: int) -> None:
        fig = draw_figure(self.system, episodes, self.labels, self.steps)
        title = (
            f"{self.system.name} | {self.mode}",
            f"interrogator #{self.interrogator} vs genuine and {self.labels[1]} | replay seed {seed}"
            + (f" | genuine: {self.external}" if self.external else ""),
        )
        fig.suptitle("\n".join(title) if len(episodes) == 1 else " | ".join(title), fontsize=9)
        try:
            figure_path.parent.mkdir(parents=True, exist_ok=True)
            save_figure(fig, figure_path, dpi=110)
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
