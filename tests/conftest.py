"""Test configuration shared by every suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt aborts without a display unless told to draw offscreen; set it before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep torch and BLAS from oversubscribing the small CI machine.
os.environ.setdefault("OMP_NUM_THREADS", "2")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The third-party data folder beside the project; skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
