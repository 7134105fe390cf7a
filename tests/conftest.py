"""Shared fixtures: every test starts from seeded backends and a private working folder."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def seeded(monkeypatch, tmp_path):
    """Seeds every global backend (the library never uses them, but tests may) and runs
    the test in its own folder so that default `runs/` folders do not pile up."""
    random.seed(0)
    np.random.seed(0)  # noqa: NPY002 (the legacy global state is what is being pinned)
    torch.manual_seed(0)
    monkeypatch.chdir(tmp_path)
    yield
