"""The replay window: it shows what the videos show, the interrogator's judgement and inputs
live, for every system with a scene; its keys; and it ends at once, with the right status,
on Ctrl-C, SIGTERM, a closed window or a lost display. The screen tests run the real
command on an Xvfb screen and grab it with ImageMagick (tests/xscreen.py)."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import xscreen

import turing
from turing.replay import Replay, SceneOptions
from turing.replay.layout import FrameLayout, write
from turing.replay.live import Controls, Request
from turing.replay.window import tk_available

TINY = {"generations": 2, "models": 4, "interrogators": 4, "progress": False, "c2st_trials": 0}
STEPS = 12
SIZE = (640, 360)
FLOOR = np.array([222, 222, 215])
"""The e-puck arenas' floor in frames (turing.envs.epuck.bullet.FLOOR_COLOR, lit)."""
KINDS = ["tk", "pybullet"]
SYSTEMS = ["sensor-self-id", "range-sensor-id", "agent-inference", "swarm-aggregation"]


class FakeWindow:
    """A window whose keys are scripted: ``presses[n]`` is pressed at the ``n``-th poll."""

    def __init__(self, presses=(), size=SIZE, close_at=None):
        self.presses = dict(presses)
        self.size = size
        self.polls = 0
        self.shown = []
        self.close_at = close_at
        self.lost_message = None

    def poll(self):
        self.polls += 1
        return set(self.presses.get(self.polls, ()))

    def show(self, frame):
        self.shown.append(frame.shape)
        self.last = frame

    def is_open(self):
        return self.close_at is None or self.polls < self.close_at

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ScriptedWindow(FakeWindow):
    """Keys pressed at the first poll after the ``n``-th frame (``after_frame``), and, in
    turn, while a finished trial is held (``at_hold``: the second poll after a frame; at
    1000 steps per second a playing step polls once)."""

    def __init__(self, after_frame=(), at_hold=()):
        super().__init__()
        self.after_frame = dict(after_frame)
        self.at_hold = list(at_hold)
        self.since_frame = 0

    def show(self, frame):
        super().show(frame)
        self.since_frame = 0

    def poll(self):
        self.polls += 1
        self.since_frame += 1
        if self.since_frame == 1:
            return set(self.after_frame.pop(len(self.shown), ()))
        if self.since_frame == 2 and self.at_hold:
            self.held = self.last  # what a held replay shows
            self.held_at = len(self.shown)
            return set(self.at_hold.pop(0))
        return set()


def needs_kind(kind: str):
    if kind == "tk" and not tk_available():
        pytest.skip("this Python has no Tk (import tkinter fails)")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny finished runs of every system with a replay scene."""
    root = tmp_path_factory.mktemp("gui-runs")
    found = {}
    for system in SYSTEMS:
        found[system] = root / system
        turing.learn(system, steps=STEPS, seed=3, out=found[system], **TINY)
    return found


@pytest.fixture
def screen():
    reason = xscreen.missing_tools()
    if reason:
        pytest.skip(reason)
    with xscreen.Screen() as screen:
        yield screen


def last_frame(run, size, gui=True, seed=None) -> np.ndarray:
    """The offscreen frame of a replay's last step as the window shows it while the
    replay waits after the trial (``gui``), or with a video's footer."""
    replay = Replay(run)
    scene = replay.scene(SceneOptions(gui=gui, size=size, labels=replay.labels))
    window = ScriptedWindow(at_hold=[{"q"}])
    window.size = size
    try:
        replay.play(gui=True, window=window, scene=scene, seed=seed, fps=1000.0, size=size,
                    figure=Path(tempfile.mkdtemp()) / "reference.png")  # fmt: skip
    finally:
        scene.close()
    return window.held


def start(screen, run, tmp_path, kind, *args):
    figure = tmp_path / f"{kind}.png"
    command = xscreen.replay_command(run, "--window", kind, "--figure", str(figure), *args)
    process = subprocess.Popen(
        command,
        env=screen.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_signals,
    )
    window = screen.wait_for(xscreen.NAMES[kind], process=process)
    return process, window, figure


def wait_saved(process, figure, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not figure.with_suffix(".npz").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the first trial did not end"
        time.sleep(0.1)
    time.sleep(0.5)


def finish(process, timeout=10.0):
    """The exit status and output of a replay that should be ending now."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the replay did not end within {timeout} s: {err[-500:]}")
    return process.returncode, out, err


def floor(image: np.ndarray) -> np.ndarray:
    """Where ``image`` shows an arena's floor."""
    return np.all(np.abs(image.astype(int) - FLOOR) <= 10, axis=2)


def floor_boxes(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes of the arena floor seen in each half of ``image`` (0.5 to 99.5
    percentiles: a stray pixel of the floor's colour elsewhere does not widen them)."""
    mask = floor(image)
    boxes = []
    half = image.shape[1] // 2
    for part in (slice(0, half), slice(half, None)):
        ys, xs = np.nonzero(mask[:, part])
        assert len(ys) > 100, "no arena floor in this half"
        (x0, x1), (y0, y1) = np.percentile(xs, [0.5, 99.5]), np.percentile(ys, [0.5, 99.5])
        boxes.append((int(x0), int(y0), int(x1), int(y1)))
    return boxes


# ----------------------------------------------------------------------------- on a screen
@pytest.mark.parametrize("kind", KINDS)
def test_the_window_shows_the_offscreen_frame_and_the_arenas_fill_it(screen, runs, tmp_path, kind):
    needs_kind(kind)
    size = (960, 540)
    process, window, figure = start(
        screen, runs["sensor-self-id"], tmp_path, kind, "--size", "960x540", "--fps", "50"
    )
    expected = last_frame(runs["sensor-self-id"], size)
    wait_saved(process, figure)
    # The trial is over; the window then shows its last step marked "trial over" (it may
    # take a moment on a busy machine): the grab that matches best in 5 s.
    deadline, best = time.monotonic() + 5.0, None
    while best is None or (best[0] > 0.1 and time.monotonic() < deadline):
        shot = screen.grab(window)
        difference = np.abs(shot.astype(int) - expected.astype(int))
        if best is None or difference.mean() < best[0]:
            best = (difference.mean(), shot, difference)
        time.sleep(0.2)
    _, shot, difference = best
    process.send_signal(signal.SIGTERM)  # while it waits on its last frame
    code, _, err = finish(process)
    assert code == 143 and "interrupted (SIGTERM)" in err
    assert (window.width, window.height) == size
    # The same picture: a camera, a label or a chart placed differently moves thousands
    # of pixels by far more than the window's rounding of a texture (PyBullet: < 1 level).
    assert difference.mean() < 1.0, difference.mean()
    assert np.mean(difference.max(axis=2) > 40) < 0.001
    # The arenas fill the window: their floors cover a fifth of it (the walls and the
    # charts under them most of the rest), each floor half its height (the old 480x270
    # window: floors on 0.5 % of it, an eighth of its height).
    assert floor(shot).mean() > 0.2, floor(shot).mean()
    for _, y0, _, y1 in floor_boxes(shot):
        assert (y1 - y0) > 0.45 * size[1], (y0, y1)


@pytest.mark.parametrize(("how", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_end_a_playing_replay_at_once(screen, runs, tmp_path, how, code):
    kind = "tk" if tk_available() else "pybullet"
    process, window, figure = start(
        screen, runs["agent-inference"], tmp_path, kind, "--fps", "2", "--size", "480x270"
    )
    screen.wait_drawn(window)  # playing
    sent = time.monotonic()
    process.send_signal(how)
    status, _, err = finish(process)
    assert status == code and "interrupted" in err
    assert time.monotonic() - sent < 5
    assert not figure.exists(), "no trial had ended: nothing to save"


@pytest.mark.parametrize("kind", KINDS)
def test_closing_the_window_ends_the_replay_and_keeps_what_was_played(screen, runs, tmp_path, kind):
    needs_kind(kind)
    process, window, figure = start(
        screen, runs["range-sensor-id"], tmp_path, kind, "--fps", "100", "--size", "480x270"
    )
    wait_saved(process, figure)
    screen.close(window)
    code, out, err = finish(process)
    assert code == 0, err
    assert figure.exists() and figure.with_suffix(".npz").exists()
    if kind == "tk":  # Tk takes part in the close protocol: an ordinary end
        assert "trial 1:" in out and "figure:" in out
    else:  # PyBullet's window is cut off: one line says what happened and what was saved
        assert err.strip().count("\n") == 0 and "window was closed" in err and str(figure) in err


@pytest.mark.parametrize("kind", KINDS)
def test_a_lost_display_ends_the_replay_with_one_line(screen, runs, tmp_path, kind):
    needs_kind(kind)
    process, window, _ = start(
        screen, runs["swarm-aggregation"], tmp_path, kind, "--fps", "3", "--size", "480x270"
    )
    screen.wait_drawn(window)  # playing
    screen.stop(signal.SIGKILL)  # the X server dies without a word
    lost = time.monotonic()
    code, _, err = finish(process)
    assert time.monotonic() - lost < 5
    assert code == 0 and "display went away" in err and "nothing saved" in err
    assert err.strip().count("\n") == 0, err


def test_an_idle_tk_window_costs_no_cpu(screen, runs, tmp_path):
    needs_kind("tk")
    process, _, figure = start(
        screen, runs["agent-inference"], tmp_path, "tk", "--fps", "100", "--size", "480x270"
    )
    wait_saved(process, figure)
    cpu = _cpu_seconds(process.pid)
    time.sleep(2.0)
    used = _cpu_seconds(process.pid) - cpu
    process.send_signal(signal.SIGTERM)
    finish(process)
    assert used < 0.5, f"{used:.2f} s of CPU in 2 s while waiting on the last frame"


def _cpu_seconds(pid: int) -> float:
    import os

    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- frames
@pytest.mark.parametrize("system", SYSTEMS)
def test_every_scene_has_a_window_and_draws_its_trials(runs, system):
    replay = Replay(runs[system])
    scene = replay.scene(SceneOptions(gui=True, size=SIZE, labels=replay.labels))
    assert scene.supports_gui
    scene.close()
    frame = last_frame(runs[system], SIZE)
    layout = FrameLayout.for_size(SIZE)
    assert frame.shape == (SIZE[1], SIZE[0], 3)
    for column in layout.columns:
        for box in (column.title, column.picture, column.verdict, column.judgement, column.actions):
            part = frame[box.y0 : box.y1, box.x0 : box.x1]
            assert (part < 200).any(), f"nothing drawn in {box}"
        # The judgement line ends with a dot of its trial's colour (blue or orange).
        chart = frame[
            column.judgement.y0 : column.judgement.y1, column.judgement.x0 : column.judgement.x1
        ]
        assert (np.abs(chart.astype(int) - chart.mean(axis=2, keepdims=True)) > 60).any()


def test_window_and_video_frames_differ_only_in_the_footer(runs):
    gui = last_frame(runs["sensor-self-id"], SIZE, gui=True)
    video = last_frame(runs["sensor-self-id"], SIZE, gui=False)
    footer = FrameLayout.for_size(SIZE).footer
    differs = np.nonzero(np.any(gui != video, axis=2))[0]
    assert len(differs) and differs.min() >= footer.y0


@pytest.mark.parametrize(
    "size", [(160, 96), (480, 270), (1280, 720), (1920, 400), (400, 900), (37, 23)]
)
def test_texts_stay_in_their_boxes_and_never_overlap(size):
    from PIL import Image, ImageDraw

    layout = FrameLayout.for_size(size)
    boxes = layout.text_boxes()
    for i, a in enumerate(boxes):
        assert 0 <= a.x0 <= a.x1 <= size[0] and 0 <= a.y0 <= a.y1 <= size[1]
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    draw = ImageDraw.Draw(Image.new("RGB", size))
    long = "judged counterfeit (0.44) " * 4
    for box in boxes:
        drawn = write(draw, long, box)
        if drawn is not None:
            assert box.x0 - 1 <= drawn.x0 and drawn.x1 <= box.x1 + 1, (box, drawn)
            assert box.y0 - 1 <= drawn.y0 and drawn.y1 <= box.y1 + 1, (box, drawn)


def test_a_trial_without_a_picture_is_charted(runs):
    """A trial the scene cannot draw (a recorded one) gets its observations charted."""
    replay = Replay(runs["sensor-self-id"])
    scene = replay.scene(SceneOptions(size=SIZE, labels=replay.labels))
    drawn = scene.picture
    scene.picture = lambda k, w, h: None if k == 0 else drawn(k, w, h)
    window = ScriptedWindow(at_hold=[{"q"}])
    try:
        replay.play(gui=True, window=window, scene=scene, fps=1000.0, size=SIZE, figure="r.png")
    finally:
        scene.close()
    frame = window.last
    box = FrameLayout.for_size(SIZE).columns[0].picture
    part = frame[box.y0 : box.y1, box.x0 : box.x1].astype(int)
    assert np.mean(np.all(np.abs(part - FLOOR) <= 10, axis=2)) < 0.01, "no arena on the left"
    assert (part < 150).any(), "the observations are drawn instead"


# ----------------------------------------------------------------------------- keys
def test_controls_pause_step_and_request():
    controls = Controls(FakeWindow({1: {" "}, 3: {"s"}}), fps=1000.0)
    controls.step()  # pause at poll 1, one step at poll 3
    assert controls.paused and controls.window.polls == 3
    controls.window.presses[5] = {" "}
    controls.step()  # resumes at poll 5 (polls every 0.1 s while paused)
    assert not controls.paused and controls.window.polls == 5
    for key, kind in [
        ("t", "trial"),
        ("m", "model"),
        ("i", "interrogator"),
        ("q", "quit"),
        ("escape", "quit"),
    ]:
        window = FakeWindow({1: {key}})
        with pytest.raises(Request) as raised:
            Controls(window, fps=1000.0).step()
        assert raised.value.kind == kind
        assert Controls(FakeWindow({2: {key}}), fps=1000.0).hold() == kind
    assert Controls(FakeWindow(close_at=2), fps=1000.0).hold() == "closed"


def test_a_resized_window_gets_the_frame_again_at_its_size():
    window = FakeWindow({2: {"q"}})
    drawn = []
    controls = Controls(window, fps=1000.0, redraw=lambda: drawn.append(window.size))
    window.size = (300, 200)
    assert controls.hold() == "quit" and drawn == [(300, 200)]


def test_keys_skip_to_the_next_trial_and_ask_for_the_next_model(runs):
    replay = Replay(runs["agent-inference"])
    window = ScriptedWindow(after_frame={3: {"t"}}, at_hold=[{"m"}])
    result = replay.play(gui=True, window=window, fps=1000.0, size=SIZE, figure="r.png", seed=4)
    assert result.request == "model"
    assert len(result.episodes) == 1, "trial 1 was skipped, trial 2 played to the end"
    # 3 frames of trial 1, all of trial 2, and the last again marked "trial over".
    assert window.held_at == 3 + STEPS + 1
    assert window.shown[0] == (SIZE[1], SIZE[0], 3)
    headless = replay.play(trials=2, figure="h.png", seed=4).episodes[1]
    np.testing.assert_array_equal(result.episodes[0].observation, headless.observation)
    np.testing.assert_array_equal(result.episodes[0].judgement, headless.judgement)


def test_a_session_follows_the_requests_for_other_ranks(runs, monkeypatch):
    import turing.replay.window as windows
    from turing.replay.session import watch

    window = ScriptedWindow(at_hold=[{"m"}, {"i"}, {"q"}])
    monkeypatch.setattr(windows, "open_window", lambda size, kind="auto": window)
    pairs = watch(runs["agent-inference"], model=3, size=SIZE, fps=1000.0, figure="f.png")
    ranks = [(r.interrogator, r.model) for r, _ in pairs]
    assert ranks == [(0, 3), (0, 0), (1, 0)]  # after the last model (3 of 4), the best
    figures = [result.figure.name for _, result in pairs]
    assert figures == ["f.png", "f-i0-m0.png", "f-i1-m0.png"]
    assert all(len(result.episodes) == 1 for _, result in pairs)


def _default_signals() -> None:
    """The child takes SIGINT and SIGTERM as a shell's foreground command does, whatever the
    test process inherited (a background job's SIGINT is ignored, and so would be its
    children's)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
