"""A PyBullet client for the systems' worlds and replay scenes, with drawing that reaches
both the GUI window and headless frames.

PyBullet draws debug lines and text only in its GUI window; its offscreen renderers
(TinyRenderer, EGL) leave them out of ``getCameraImage``. So every ``line``, ``polyline`` and
``text`` call here is kept as an overlay item too: in the GUI it becomes a debug item
(updated in place), and :meth:`BulletView.frame` projects it onto the rendered image with
the same camera. Scenes draw once and get the same picture on screen and in videos.

Coordinates are PyBullet's: metres, z up. pybullet is imported lazily and quietly (its
import and its EGL plugin print to the C-level streams, which would pollute CLI output).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from turing.envs.bullet_support import (
    RENDERERS,
    Camera,
    Color,
    color_scale,
    hardware_render_device,
    has_display,
    import_pybullet,
    quiet_output,
    rgb255,
)
from turing.errors import UserError

__all__ = [
    "RENDERERS",
    "BulletView",
    "Camera",
    "color_scale",
    "has_display",
    "import_pybullet",
    "quiet_output",
]


@dataclass
class _Overlay:
    lines: dict[str, tuple[np.ndarray, Color, float]] = field(default_factory=dict)
    texts: dict[str, tuple[str, np.ndarray, Color, float, bool]] = field(default_factory=dict)


class BulletView:
    """One PyBullet client (GUI or headless) with a camera and overlay drawing.

    Args:
        gui: open the PyBullet GUI window (needs a display).
        size: ``(width, height)`` of rendered frames (and of the window).
        renderer: offscreen renderer of :meth:`frame`: ``tiny`` (TinyRenderer, CPU),
            ``egl`` (hardware OpenGL through PyBullet's EGL plugin) or ``auto`` (EGL where
            the plugin loads and a GPU render device exists, else TinyRenderer).

    Raises:
        UserError: ``gui`` without a display, or a renderer that cannot be used.
    """

    def __init__(
        self, gui: bool = False, size: tuple[int, int] = (480, 270), renderer: str = "auto"
    ):
        if renderer not in RENDERERS:
            raise UserError(f"renderer {renderer!r} is unknown; choose from {', '.join(RENDERERS)}")
        width, height = (int(v) for v in size)
        if width < 16 or height < 16:
            raise UserError(f"frame size {width}x{height} is too small; give at least 16x16")
        self.pb = import_pybullet()
        self.gui = bool(gui)
        self.size = (width, height)
        if self.gui:
            if not has_display():
                raise UserError(
                    "cannot open the PyBullet GUI: no display here (DISPLAY is not set); "
                    "render headless instead with --video FILE.mp4 (or .gif)"
                )
            with quiet_output():
                self.id = self.pb.connect(self.pb.GUI, options=f"--width={width} --height={height}")
            if self.id < 0:
                raise UserError(
                    "cannot open the PyBullet GUI window (PyBullet allows one per process, and "
                    "it needs OpenGL); render headless instead with --video FILE.mp4 (or .gif)"
                )
            for flag in (
                "COV_ENABLE_GUI",
                "COV_ENABLE_KEYBOARD_SHORTCUTS",
                "COV_ENABLE_MOUSE_PICKING",
            ):
                # Side panels off; PyBullet's own shortcuts would steal the scene's keys.
                self.pb.configureDebugVisualizer(getattr(self.pb, flag), 0, physicsClientId=self.id)
        else:
            with quiet_output():
                self.id = self.pb.connect(self.pb.DIRECT)
        self._egl = False
        self.renderer = self._choose_renderer(renderer)
        self.camera = Camera()
        self._overlay = _Overlay()
        self._items: dict[str, int] = {}
        self._drawn_points: dict[str, int] = {}
        self._gui_texts: dict[str, tuple] = {}
        self._font_cache: dict[int, Any] = {}
        self._batching = False
        self._closed = False
        self._camera_pending = False
        # GUI texts at the frames' proportions: sized for a 360-pixel-high window, smaller
        # in a smaller one, so that labels set apart in a video stay apart in the window.
        self._gui_text_scale = min(1.0, height / 360)

    # ------------------------------------------------------------------ lifecycle
    def _choose_renderer(self, renderer: str) -> int:
        pb = self.pb
        if self.gui:
            return pb.ER_BULLET_HARDWARE_OPENGL
        if renderer == "tiny" or (renderer == "auto" and not hardware_render_device()):
            return pb.ER_TINY_RENDERER
        from importlib.util import find_spec

        spec = find_spec("eglRenderer")  # the plugin ships with pybullet as a module
        plugin = -1
        if spec is not None and spec.origin:
            with quiet_output():
                plugin = pb.loadPlugin(spec.origin, "_eglRendererPlugin", physicsClientId=self.id)
        if plugin < 0:
            if renderer == "egl":
                raise UserError(
                    "PyBullet's EGL renderer plugin does not load here; use renderer='tiny'"
                )
            return pb.ER_TINY_RENDERER
        self._egl = True
        return pb.ER_BULLET_HARDWARE_OPENGL

    def is_open(self) -> bool:
        """False once :meth:`close` ran or the user closed the GUI window."""
        return not self._closed and bool(self.pb.isConnected(physicsClientId=self.id))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            # The GUI prints its shutdown to the C-level streams.
            with contextlib.suppress(Exception), quiet_output():
                self.pb.disconnect(physicsClientId=self.id)

    def __enter__(self) -> BulletView:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ camera
    def set_camera(self, camera: Camera) -> None:
        """Points the GUI and the frames at ``camera``. The GUI takes it again after its
        first drawing (a window that is not up yet may keep its own default view)."""
        self.camera = camera
        self._camera_pending = self.gui
        self._apply_camera()

    def _apply_camera(self) -> None:
        if self.gui and self.is_open():
            c = self.camera
            self.pb.resetDebugVisualizerCamera(
                c.distance, c.yaw, c.pitch, list(c.target), physicsClientId=self.id
            )

    def _matrices(
        self, camera: Camera | None = None, size: tuple[int, int] | None = None
    ) -> tuple[list[float], list[float]]:
        c = camera or self.camera
        view = self.pb.computeViewMatrixFromYawPitchRoll(
            list(c.target), c.distance, c.yaw, c.pitch, 0.0, 2
        )
        width, height = size or self.size
        projection = self.pb.computeProjectionMatrixFOV(
            c.fov, width / height, c.distance / 100, c.distance * 10
        )
        return view, projection

    def fit_camera(
        self,
        points: Sequence[Sequence[float]] | np.ndarray,
        size: tuple[int, int],
        yaw: float = 0.0,
        pitch: float = -80.0,
        fov: float = 30.0,
        margin: float = 0.03,
    ) -> Camera:
        """The camera at ``yaw``/``pitch`` that shows every one of ``points`` ``[k, 3]``
        (e.g. the corners of an arena, floor and wall tops) as large as a frame of ``size``
        allows, centred, ``margin`` (a fraction of the frame) from its edges."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        low, high = points.min(axis=0), points.max(axis=0)
        extent = float(np.linalg.norm(high - low)) or 1.0
        camera = Camera(tuple((low + high) / 2), extent, yaw, pitch, fov)
        width, height = size
        usable = np.array([width, height]) * (1 - 2 * margin)
        for _ in range(8):
            view, projection = self._matrices(camera, size)
            pixels, _ = self.project(points, view, projection, size)
            span = pixels.max(axis=0) - pixels.min(axis=0)
            zoom = float(np.max(span / usable))
            # Recentre: move the target along the camera's right and up axes by the
            # offset of the points' pixel box, at the target's scale.
            centre = (pixels.max(axis=0) + pixels.min(axis=0)) / 2 - np.array([width, height]) / 2
            metres_per_pixel = 2 * camera.distance * np.tan(np.radians(fov) / 2) / height
            v = np.asarray(view, dtype=np.float64).reshape(4, 4).T
            right, up = v[0, :3], v[1, :3]
            target = np.asarray(camera.target) + metres_per_pixel * (
                centre[0] * right - centre[1] * up
            )
            camera = Camera(tuple(target), camera.distance * zoom, yaw, pitch, fov)
            if abs(zoom - 1) < 1e-3 and np.all(np.abs(centre) < 0.5):
                break
        return camera

    # ------------------------------------------------------------------ drawing
    def line(
        self,
        key: str,
        start: Sequence[float],
        end: Sequence[float],
        color: Color,
        width: float = 1.0,
    ) -> None:
        """Draws (or moves) the line called ``key``."""
        entry = (np.array([start, end], dtype=np.float64), tuple(color), float(width))
        previous = self._overlay.lines.get(key)
        self._overlay.lines[key] = entry
        if self.gui and not _same_line(previous, entry):
            # Moved in place: no flicker, no growing item list.
            self._items[key] = self.pb.addUserDebugLine(
                list(entry[0][0]),
                list(entry[0][1]),
                list(color),
                width,
                replaceItemUniqueId=self._items.get(key, -1),
                physicsClientId=self.id,
            )

    def polyline(
        self,
        key: str,
        points: Sequence[Sequence[float]] | np.ndarray,
        color: Color,
        width: float = 1.0,
    ) -> None:
        """Draws the polyline called ``key`` through ``points`` ``[k, 3]``.

        A polyline that only grew since the last call (a trail) costs one GUI item per new
        segment; any other change redraws it.
        """
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        previous = self._overlay.lines.get(key)
        self._overlay.lines[key] = (points, tuple(color), float(width))
        if not self.gui:
            return
        drawn = self._drawn_points.get(key, 0)
        grew = (
            previous is not None
            and previous[1:] == (tuple(color), float(width))
            and drawn <= len(points)
            and np.array_equal(previous[0][:drawn], points[:drawn])
        )
        if not grew:
            self._remove_prefix(f"{key}#")
            drawn = 0
        for k in range(max(1, drawn), len(points)):
            self._items[f"{key}#{k}"] = self.pb.addUserDebugLine(
                list(points[k - 1]), list(points[k]), list(color), width, physicsClientId=self.id
            )
        self._drawn_points[key] = len(points)

    def text(
        self,
        key: str,
        text: str,
        position: Sequence[float],
        color: Color = (0, 0, 0),
        size: float = 1.0,
        centred: bool = True,
        in_frames: bool = True,
    ) -> None:
        """Writes (or rewrites) the text called ``key`` at ``position``; ``size`` 1 is the
        standard size; ``centred`` centres it on ``position`` in frames (else it starts
        there); ``in_frames=False`` shows it in the window only."""
        position = np.asarray(position, dtype=np.float64)
        entry = (text, position, tuple(color), float(size), bool(centred))
        previous = self._gui_texts.get(key)
        if in_frames:
            self._overlay.texts[key] = entry
        unchanged = (
            previous is not None
            and previous[0] == text
            and previous[2:] == entry[2:]
            and np.array_equal(previous[1], position)
        )
        if self.gui and not unchanged:
            self._gui_texts[key] = entry
            self._items[key] = self.pb.addUserDebugText(
                text,
                list(position),
                list(color),
                1.2 * size * self._gui_text_scale,
                replaceItemUniqueId=self._items.get(key, -1),
                physicsClientId=self.id,
            )

    def clear(self) -> None:
        """Removes every line and text."""
        self._overlay = _Overlay()
        if self.gui and self._items:
            self.pb.removeAllUserDebugItems(physicsClientId=self.id)
        self._items.clear()
        self._drawn_points.clear()
        self._gui_texts.clear()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Groups drawing calls: the GUI redraws once after them, not after each (every GUI
        call waits for the window's next frame). Headless, it does nothing."""
        if not self.gui or self._batching or not self.is_open():
            yield
            return
        self._batching = True
        self.pb.configureDebugVisualizer(self.pb.COV_ENABLE_RENDERING, 0, physicsClientId=self.id)
        try:
            yield
        finally:
            self._batching = False
            if self.is_open():
                self.pb.configureDebugVisualizer(
                    self.pb.COV_ENABLE_RENDERING, 1, physicsClientId=self.id
                )
                if self._camera_pending:
                    self._camera_pending = False
                    self._apply_camera()

    def _remove_prefix(self, prefix: str) -> None:
        for name in [k for k in self._items if k.startswith(prefix)]:
            self.pb.removeUserDebugItem(self._items.pop(name), physicsClientId=self.id)

    # ------------------------------------------------------------------ frames
    def frame(
        self, camera: Camera | None = None, size: tuple[int, int] | None = None
    ) -> np.ndarray:
        """The scene as an RGB image ``[height, width, 3]`` uint8, overlay included, seen by
        ``camera`` (default: the view's) at ``size`` (default: the view's)."""
        width, height = size = tuple(int(v) for v in (size or self.size))
        view, projection = self._matrices(camera, size)
        # The EGL plugin reports its OpenGL vendor on stdout when it renders.
        quiet = quiet_output() if self._egl else contextlib.nullcontext()
        with quiet:
            image = self.pb.getCameraImage(
                width,
                height,
                view,
                projection,
                renderer=self.renderer,
                shadow=0,
                flags=self.pb.ER_NO_SEGMENTATION_MASK,
                physicsClientId=self.id,
            )[2]
        rgb = np.asarray(image, dtype=np.uint8).reshape(height, width, 4)[..., :3]
        return self._draw_overlay(np.ascontiguousarray(rgb), view, projection, size)

    def project(
        self, points: np.ndarray, view=None, projection=None, size=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates ``[k, 2]`` of world points ``[k, 3]`` and whether each lies in
        front of the camera (default: the view's camera and size)."""
        if view is None or projection is None:
            view, projection = self._matrices(size=size)
        # PyBullet's matrices are column-major flat lists.
        v = np.asarray(view, dtype=np.float64).reshape(4, 4).T
        p = np.asarray(projection, dtype=np.float64).reshape(4, 4).T
        homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1)
        clip = homogeneous @ (p @ v).T
        w = clip[:, 3:4]
        front = w[:, 0] > 1e-9
        ndc = clip[:, :3] / np.where(front[:, None], w, 1.0)
        width, height = size or self.size
        pixels = np.stack([(ndc[:, 0] + 1) * 0.5 * width, (1 - ndc[:, 1]) * 0.5 * height], axis=1)
        return pixels, front

    def _draw_overlay(self, rgb: np.ndarray, view, projection, size) -> np.ndarray:
        if not self._overlay.lines and not self._overlay.texts:
            return rgb
        from PIL import Image, ImageDraw

        image = Image.fromarray(rgb)
        draw = ImageDraw.Draw(image)
        scale = size[1] / 360  # line widths and text sizes are set for 360-pixel-high frames
        lines = list(self._overlay.lines.values())
        texts = list(self._overlay.texts.values())
        # One projection of every point: scenes draw hundreds of short lines per frame.
        points = [line[0] for line in lines] + [text[1].reshape(1, 3) for text in texts]
        pixels, front = self.project(np.concatenate(points), view, projection, size)
        bounds = np.cumsum([0] + [len(p) for p in points])
        for k, (_, color, width) in enumerate(lines):
            part = slice(bounds[k], bounds[k + 1])
            if bounds[k + 1] - bounds[k] >= 2 and front[part].all():
                xy = pixels[part].ravel().tolist()
                draw.line(xy, fill=rgb255(color), width=max(1, round(width * scale)))
        for k, (text, _, color, size, centred) in enumerate(texts):
            index = bounds[len(lines) + k]
            if front[index]:
                font = self._font(round(13 * size * scale))
                # Anchors need a TrueType font (Pillow >= 10.1 ships one as the default).
                anchor = (
                    ("mm" if centred else "lm")
                    if hasattr(font, "getbbox") and hasattr(font, "size")
                    else None
                )
                draw.text(tuple(pixels[index]), text, fill=rgb255(color), font=font, anchor=anchor)
        return np.asarray(image)

    def _font(self, pixels: int):
        from PIL import ImageFont

        pixels = max(8, pixels)
        if pixels not in self._font_cache:
            try:
                self._font_cache[pixels] = ImageFont.load_default(size=pixels)
            except TypeError:  # Pillow < 10.1: one bitmap size only
                self._font_cache[pixels] = ImageFont.load_default()
        return self._font_cache[pixels]

    # ------------------------------------------------------------------ keys
    def keys(self) -> set[str]:
        """Keys pressed in the GUI window since the last call (lower-case characters;
        ``" "`` for space); always empty headless."""
        if not self.gui or not self.is_open():
            return set()
        pressed = set()
        for code, state in self.pb.getKeyboardEvents(physicsClientId=self.id).items():
            if state & self.pb.KEY_WAS_TRIGGERED and 0 <= code < 0x110000:
                pressed.add(chr(code).lower())
        return pressed


def _same_line(previous, entry) -> bool:
    return (
        previous is not None and previous[1:] == entry[1:] and np.array_equal(previous[0], entry[0])
    )
