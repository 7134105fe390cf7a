"""``turing replay``: replays are the evaluator's trials, seeded, written as videos, figures
and NPZ; bad input is one line and exit code 2."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
import torch

import turing
from turing import Parameter, System
from turing.agents import ModelPopulation
from turing.cli import main
from turing.engine import stream_key
from turing.engine.evaluator import Evaluator
from turing.integrations.registry import register_system, unregister_system
from turing.replay import ChartScene, Replay, replay
from turing.runs.rundir import load_npz

TINY = {"generations": 2, "models": 4, "interrogators": 4, "progress": False, "c2st_trials": 0}


def run_cli(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_frames(path):
    import imageio.v2 as imageio

    return [np.asarray(frame) for frame in imageio.get_reader(path)]


def assert_frames_differ(frames, steps):
    assert len(frames) == steps
    assert frames[0].ndim == 3 and frames[0].shape[2] == 3
    changed = [not np.array_equal(frames[0], f) for f in frames[1:]]
    assert sum(changed) >= len(changed) // 2, (
        "the replay's frames should change as the trial goes on"
    )


@pytest.fixture(scope="module")
def agent_runs(tmp_path_factory):
    """Tiny finished runs of case study 1 in interrogation and passive-io modes."""
    root = tmp_path_factory.mktemp("agent-runs")
    runs = {}
    for mode in ("interrogate", "passive-io"):
        runs[mode] = root / mode
        turing.learn("agent-inference", mode=mode, steps=20, seed=4, out=runs[mode], **TINY)
    return runs


@pytest.fixture(scope="module")
def epuck_run(tmp_path_factory):
    """A tiny finished run of case study 2."""
    out = tmp_path_factory.mktemp("epuck-run") / "run"
    turing.learn("sensor-self-id", steps=15, seed=2, out=out, **TINY)
    return out


class Echo(System):
    """A system without a replay scene: observes ``g * input`` plus noise."""

    name = "test-echo"
    env_id = "turing/TestEcho-v0"
    parameters = (Parameter("g", 0.0, 1.0, 0.5),)
    observation_size = 1
    action_size = 1
    default_steps = 6
    default_generations = 2

    def reset(self, params, noise):
        n = params.shape[-1]
        return None, torch.zeros(1, n)

    def step(self, state, params, action, noise):
        return None, params[:1] * action + 0.01 * noise.normal(1)

    def passive_action(self, t, observation, params, inputs):
        return torch.full((1, params.shape[-1]), 0.5)


@pytest.fixture
def echo_run(tmp_path):
    register_system(Echo)
    try:
        turing.learn("test-echo", seed=1, out=tmp_path / "echo", **TINY)
        yield tmp_path / "echo"
    finally:
        unregister_system("test-echo")


# ----------------------------------------------------------------------------- semantics
@pytest.mark.parametrize("mode", ["interrogate", "passive-io"])
def test_replay_is_the_evaluators_trial(agent_runs, mode, tmp_path):
    """The replay's loop is the evaluator's: same seed, same observations and judgements
    (replay pair p is streams 2p and 2p + 1 of the key stream_key(seed, "replay"), as the
    evaluator's recording of pairs)."""
    run = Replay(agent_runs[mode], interrogator=1, model=2)
    result = run.play(trials=2, seed=11, figure=tmp_path / "r.png")

    model = ModelPopulation(run.system, run.model_genes[None]).simulation("cpu")[:, 0]
    evaluator = Evaluator(run.system, mode, torch.tensor(run.truth.simulation), run.steps)
    record = evaluator.record(model, run.weights, 2, stream_key(11, "replay"))
    for pair, episode in enumerate(result.episodes):
        trials = slice(2 * pair, 2 * pair + 2)
        np.testing.assert_allclose(
            episode.observation,
            record["observation"][..., trials].double().numpy(),
            rtol=0,
            atol=1e-6,
        )
        np.testing.assert_allclose(
            episode.judgement,
            record["output"][:, 0, trials].double().numpy(),
            rtol=0,
            atol=1e-6,
        )
        np.testing.assert_array_equal(
            episode.judged_genuine, record["judged_genuine"][trials].numpy()
        )


def test_epuck_replay_in_pybullet_follows_the_training_simulator(epuck_run, tmp_path):
    """The e-puck scene runs the trials in PyBullet with the torch simulator's random
    draws: the same seed gives the evaluator's trial up to the geometry engines' rounding."""
    run = Replay(epuck_run, interrogator=0, model=1)
    episode = run.play(seed=3, figure=tmp_path / "r.png").episodes[0]
    model = ModelPopulation(run.system, run.model_genes[None]).simulation("cpu")[:, 0]
    evaluator = Evaluator(run.system, "interrogate", torch.tensor(run.truth.simulation), run.steps)
    record = evaluator.record(model, run.weights, 1, stream_key(3, "replay"))
    np.testing.assert_allclose(
        episode.observation, record["observation"].double().numpy(), rtol=0, atol=1e-3
    )
    np.testing.assert_allclose(
        episode.judgement, record["output"][:, 0].double().numpy(), rtol=0, atol=1e-3
    )


def test_replays_are_seeded(agent_runs, tmp_path):
    first = replay(agent_runs["interrogate"], trials=2, seed=5, figure=tmp_path / "a.png")
    again = replay(agent_runs["interrogate"], trials=2, seed=5, figure=tmp_path / "b.png")
    other = replay(agent_runs["interrogate"], trials=2, seed=6, figure=tmp_path / "c.png")
    a, b, c = (load_npz(r.data) for r in (first, again, other))
    for key in ("observation", "judgement", "action"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["observation"], c["observation"])
    assert a["observation"].shape == (2, 20, 1, 2)
    assert (tmp_path / "a.png").stat().st_size > 0


def test_default_figure_goes_to_the_run_plots(agent_runs):
    result = replay(agent_runs["interrogate"], model=3)
    assert result.figure.parent == agent_runs["interrogate"] / "plots"
    assert result.figure.is_file() and result.data.is_file()
    assert "m3" in result.figure.name


# ----------------------------------------------------------------------------- videos
@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_agent_video_frames_differ(capsys, agent_runs, tmp_path, suffix):
    if suffix == ".mp4":
        pytest.importorskip("imageio_ffmpeg")
    video = tmp_path / f"agent{suffix}"
    code, out, err = run_cli(
        capsys, "replay", agent_runs["interrogate"], "--video", video, "--size", "160x96"
    )
    assert code == 0, err
    assert_frames_differ(read_frames(video), 20)
    assert video.with_suffix(".png").is_file() and video.with_suffix(".npz").is_file()
    assert "trial 1:" in out and str(video) in out


def test_epuck_video_frames_differ(capsys, epuck_run, tmp_path):
    video = tmp_path / "epuck.gif"
    code, out, err = run_cli(
        capsys, "replay", epuck_run, "--video", video, "--size", "192x108", "--trials", "2"
    )
    assert code == 0, err
    frames = read_frames(video)
    assert_frames_differ(frames[:15], 15)
    assert not np.array_equal(frames[14], frames[15]), "the second trial starts elsewhere"
    assert out.count("trial ") == 2


def test_system_without_scene_gets_a_chart_video(capsys, echo_run, tmp_path):
    run = Replay(echo_run)
    assert isinstance(run.scene(run_scene_options()), ChartScene)
    video = tmp_path / "echo.gif"
    code, _, err = run_cli(capsys, "replay", echo_run, "--video", video, "--size", "200x120")
    assert code == 0, err
    assert_frames_differ(read_frames(video), 6)


def test_system_without_scene_has_no_window(capsys, echo_run, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    code, _, err = run_cli(capsys, "replay", echo_run, "--gui")
    assert code == 2 and "no replay scene" in err and "--video" in err


def run_scene_options():
    from turing.replay import SceneOptions

    return SceneOptions()


# ----------------------------------------------------------------------------- bad input
def edited_copy(run, tmp_path, **changes):
    copy = tmp_path / "edited"
    shutil.copytree(run, copy)
    config = json.loads((copy / "config.json").read_text())
    config.update(changes)
    (copy / "config.json").write_text(json.dumps(config))
    return copy


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "does not exist"),
        (["{run}", "--interrogator", "4"], "--interrogator 4 is out of range"),
        (["{run}", "--model", "9"], "--model 9 is out of range"),
        (["{run}", "--video", "{file}/replay.mp4"], "not a writable folder"),
        (["{run}", "--video", "{tmp}/replay.avi"], "name a .mp4 or .gif"),
        (["{run}", "--video", "{folder}"], "it is a folder"),
        (["{run}", "--figure", "{file}/replay.png"], "not a writable folder"),
        (["{run}", "--interrogator", "first"], "not a whole number"),
        (["{run}", "--size", "10x10"], "WIDTHxHEIGHT"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(capsys, agent_runs, tmp_path, args, message):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    folder = tmp_path / "video.mp4"
    folder.mkdir()
    names = {
        "missing": tmp_path / "nowhere",
        "run": agent_runs["interrogate"],
        "file": afile,
        "tmp": tmp_path,
        "folder": folder,
    }
    argv = [a.format(**names) for a in args]
    code, _, err = run_cli(capsys, "replay", *argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err


def test_gui_without_display_says_to_use_video(capsys, agent_runs, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    code, _, err = run_cli(capsys, "replay", agent_runs["interrogate"], "--gui")
    assert code == 2 and "no display" in err and "--video" in err


def test_mp4_without_imageio_ffmpeg_names_the_install(capsys, agent_runs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    code, _, err = run_cli(
        capsys, "replay", agent_runs["interrogate"], "--video", tmp_path / "x.mp4"
    )
    assert code == 2 and "turing-learning[video]" in err


def test_run_of_an_unknown_system_or_a_non_evolutionary_mode(capsys, agent_runs, tmp_path):
    other = edited_copy(agent_runs["interrogate"], tmp_path, system="no-such-system")
    code, _, err = run_cli(capsys, "replay", other)
    assert code == 2 and "unknown system 'no-such-system'" in err
    shutil.rmtree(other)
    metric = edited_copy(agent_runs["interrogate"], tmp_path, mode="metric")
    code, _, err = run_cli(capsys, "replay", metric)
    assert code == 2 and "no interrogators to replay" in err


def test_unfinished_run_is_refused(capsys, agent_runs, tmp_path):
    copy = tmp_path / "unfinished"
    shutil.copytree(agent_runs["interrogate"], copy)
    (copy / "populations.npz").unlink()
    code, _, err = run_cli(capsys, "replay", copy)
    assert code == 2 and "populations.npz" in err


def test_chart_video_frames_say_which_trial_is_the_genuine_one():
    # Video frames of systems without a scene are too small for per-axes legends; one
    # title and one legend (genuine solid, model dashed) must still tell them apart.
    from turing.replay.figure import Episode, draw_figure

    system = turing.make_system("agent-inference")
    episode = Episode(
        observation=np.zeros((5, system.observation_size, 2)),
        judgement=np.full((5, 2), 0.5),
        action=np.zeros((4, system.action_size, 2)),
        judged_genuine=np.array([True, False]),
    )
    fig = draw_figure(system, [episode], ("genuine", "model"), 5, figsize=(3.2, 2.4))
    assert "genuine" in fig._suptitle.get_text() and "model" in fig._suptitle.get_text()
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["genuine (solid)", "model (dashed)"]
    styles = {line.get_label(): line.get_linestyle() for ax in fig.axes for line in ax.lines}
    assert styles["genuine"] == "-" and styles["model"] == "--"
