"""The replay scenes' side of a PyBullet world: each trial's picture is the world seen by
a camera fitted to that trial's part of it (an arena, a station), rendered headless by a
:class:`~turing.envs.bullet_view.BulletView`."""

from __future__ import annotations

from typing import Any

import numpy as np

from turing.envs.bullet_view import BulletView, Camera


class BulletScene:
    """Mixin of replay scenes drawn in a headless :class:`BulletView` (``self.view``): a
    scene implements ``draw(view)`` (one step's lines and colours) and ``camera(k,
    size)`` (the camera that frames trial ``k`` in a picture of ``size``); this gives it
    the two-column scene's ``picture`` (:class:`turing.replay.columns.ColumnScene`) and
    ``close``. Put it before ``ColumnScene`` in the bases."""

    view: BulletView

    def draw(self, view: Any) -> None:
        """Draws one step (a :class:`turing.replay.StepView`)."""
        raise NotImplementedError

    def camera(self, k: int, size: tuple[int, int]) -> Camera:
        """The camera of trial ``k``'s picture."""
        raise NotImplementedError

    def show(self, view: Any) -> None:
        self.draw(view)
        super().show(view)  # type: ignore[misc]

    def picture(self, k: int, width: int, height: int) -> np.ndarray:
        size = (width, height)
        key = (k, size)
        cameras = self.__dict__.setdefault("_cameras", {})
        if key not in cameras:  # fitting projects a few points eight times: keep it
            cameras[key] = self.camera(k, size)
        return self.view.frame(cameras[key], size)

    def close(self) -> None:
        self.view.close()
