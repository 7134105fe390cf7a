"""The replay window in PyBullet's GUI, for Pythons without Tk
(:mod:`turing.replay.window` chooses).

It shows exactly the frames a video of the replay gets (the same picture, pixel for
pixel): each frame is the texture of a flat quad that fills the window, seen from
straight above under a light from straight above (so the texture's colours are not
shaded). Drawing the 3-D worlds in PyBullet's own view instead cannot look like the
videos: its camera has a fixed 90-degree field of view, so framing the e-puck's two
arenas puts it 0.47 m above 10 cm walls and cylinders, which then lean outwards like the
sides of a deep box, and its debug texts have a fixed pixel size and no anchoring, so
labels overlap in a small window.

The GUI runs in the calling thread (``GUI_MAIN_THREAD``): in PyBullet's threaded GUI,
a display that goes away leaves the process spinning, deaf to SIGTERM. Here the window is
redrawn only when the replay polls it, Ctrl-C and SIGTERM are handled between polls, and
a lost display ends the replay at once
(:func:`turing.envs.bullet_support.on_display_lost`). PyBullet's physics server thread
still polls for commands in a loop (about one core while the window is open), which is
why the Tk window is preferred where there is one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from turing.envs.bullet_support import (
    forget_display_lost,
    has_display,
    import_pybullet,
    on_display_lost,
    quiet_output,
)
from turing.errors import UserError
from turing.replay.player import lost_message

CAMERA_DISTANCE = 1.0
"""Metres from the camera to the quad (PyBullet's view shows +-1 distance vertically)."""
PITCH = -89.999
"""Straight down (exactly -90 leaves the camera's up direction undefined)."""
SPECIAL_KEYS = {27: "escape", 65295: "left", 65296: "right"}
"""PyBullet's codes of keys without a character (B3G_ESCAPE is not exported)."""


class BulletWindow:
    """A PyBullet GUI window that shows RGB frames and reports key presses.

    Args:
        size: ``(width, height)`` of the window, pixels.

    Attributes:
        lost_message: gives the line written on stderr if the window is closed by the
            window manager or its display goes away (the process then ends with status 0).

    Raises:
        UserError: no display, or PyBullet cannot open its window (one per process).
    """

    def __init__(self, size: tuple[int, int]):
        if not has_display():
            raise UserError(
                "cannot open the replay window: no display here (DISPLAY is not set); "
                "render headless instead with --video FILE.mp4 (or .gif)"
            )
        self.pb = pb = import_pybullet()
        self.lost_message = lambda: lost_message([], None, None)
        on_display_lost(self._on_lost)
        width, height = (int(v) for v in size)
        options = (
            f"--width={width} --height={height} --background_color_red=1 "
            "--background_color_green=1 --background_color_blue=1"
        )
        mode = getattr(pb, "GUI_MAIN_THREAD", pb.GUI)
        with quiet_output():  # the GUI reports its OpenGL context on the C-level streams
            self.id = pb.connect(mode, options=options)
        if self.id < 0:
            forget_display_lost(self._on_lost)
            raise UserError(
                "cannot open the PyBullet window (PyBullet allows one per process, and it "
                "needs OpenGL); render headless instead with --video FILE.mp4 (or .gif)"
            )
        self._closed = False
        for flag in (
            "COV_ENABLE_GUI",  # side panels
            "COV_ENABLE_SHADOWS",
            "COV_ENABLE_KEYBOARD_SHORTCUTS",  # they would steal the replay's keys
            "COV_ENABLE_MOUSE_PICKING",
        ):
            pb.configureDebugVisualizer(getattr(pb, flag), 0, physicsClientId=self.id)
        # Light from straight above the quad: its texture shows at full, unshaded colour.
        pb.configureDebugVisualizer(lightPosition=[0, 0, 100], physicsClientId=self.id)
        self.texture = -1
        self._quad = -1
        self._layout: tuple | None = None
        self.size = (width, height)
        self._camera()

    # ------------------------------------------------------------------ showing frames
    def show(self, frame: np.ndarray) -> None:
        """Shows ``frame`` (RGB ``[height, width, 3]`` uint8), scaled to fit the window
        (pixel for pixel when their sizes agree)."""
        frame = np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
        height, width = frame.shape[:2]
        layout = (width, height, *self.size)
        if layout != self._layout:
            if self._layout is None or self._layout[:2] != (width, height):
                # A texture keeps the size it was made with: a new size, a new texture.
                self.texture = self._load_texture(width, height)
            self._make_quad(width, height)
            self._layout = layout
        self.pb.changeTexture(self.texture, frame.tobytes(), width, height, physicsClientId=self.id)

    def poll(self) -> set[str]:
        """Keys pressed since the last poll (lower-case characters, ``" "`` for space,
        ``escape``, ``left``, ``right``); also redraws the window, follows a resize, and
        puts back a camera the mouse moved. Empty once the window is closed."""
        if not self.is_open():
            return set()
        pb = self.pb
        events = pb.getKeyboardEvents(physicsClientId=self.id)
        camera = pb.getDebugVisualizerCamera(physicsClientId=self.id)
        size = (int(camera[0]), int(camera[1]))
        if size != self.size and min(size) > 0:
            self.size = size
        if abs(camera[10] - CAMERA_DISTANCE) > 1e-6 or abs(camera[9] - PITCH) > 1e-3:
            self._camera()
        pressed = set()
        for code, state in events.items():
            if not state & pb.KEY_WAS_TRIGGERED:
                continue
            if code in SPECIAL_KEYS:
                pressed.add(SPECIAL_KEYS[code])
            elif 0 <= code < 0x110000:
                pressed.add(chr(code).lower())
        return pressed

    def is_open(self) -> bool:
        return not self._closed and bool(self.pb.isConnected(physicsClientId=self.id))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with quiet_output():  # the GUI reports its shutdown on the C-level streams
                self.pb.disconnect(physicsClientId=self.id)
            # Only now: the display may turn out to be gone while the window shuts down.
            forget_display_lost(self._on_lost)

    def __enter__(self) -> BulletWindow:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _on_lost(self) -> str:
        return self.lost_message()

    def _camera(self) -> None:
        self.pb.resetDebugVisualizerCamera(
            CAMERA_DISTANCE, 0.0, PITCH, [0.0, 0.0, 0.0], physicsClientId=self.id
        )

    def _load_texture(self, width: int, height: int) -> int:
        # PyBullet makes textures only from files, and changing one keeps its size: a blank
        # of the frames' size, whose pixels every frame then replaces.
        from PIL import Image

        with tempfile.TemporaryDirectory(prefix="turing-replay-") as folder:
            path = Path(folder) / "blank.png"
            Image.new("RGB", (width, height), (255, 255, 255)).save(path)
            return self.pb.loadTexture(str(path), physicsClientId=self.id)

    def _make_quad(self, width: int, height: int) -> None:
        """A quad of the frame's proportions, as large as the window allows."""
        pb = self.pb
        window_width, window_height = self.size
        scale = min(window_width / width, window_height / height)
        # The view spans +-CAMERA_DISTANCE vertically (90 degrees) at the quad.
        half_x = CAMERA_DISTANCE * width * scale / window_height
        half_y = CAMERA_DISTANCE * height * scale / window_height
        if self._quad >= 0:
            pb.removeBody(self._quad, physicsClientId=self.id)
        shape = pb.createVisualShape(
            pb.GEOM_MESH,
            vertices=[
                [-half_x, -half_y, 0],
                [half_x, -half_y, 0],
                [half_x, half_y, 0],
                [-half_x, half_y, 0],
            ],
            indices=[0, 1, 2, 0, 2, 3],
            uvs=[[0, 0], [1, 0], [1, 1], [0, 1]],
            normals=[[0, 0, 1]] * 4,
            rgbaColor=[1, 1, 1, 1],
            physicsClientId=self.id,
        )
        self._quad = pb.createMultiBody(0, -1, shape, physicsClientId=self.id)
        pb.changeVisualShape(self._quad, -1, textureUniqueId=self.texture, physicsClientId=self.id)
        self._camera()
