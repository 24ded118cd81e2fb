"""How the window's process is put together: the model proxy the window ranks and trains
through, and the thread count its helper processes start with.

The launcher opens the window with these (through :class:`~app.ui.window.MainWindow`'s
default); a test or a benchmark hands the window a ranker of its own instead and keeps this
process free of helper processes.
"""

from __future__ import annotations

import os
import sys

from app.services.preference import Preferences
from app.services.profile import Profile
from app.services.ranking import Ranking
from app.services.remote import RemoteRanker


def limit_threads(prefs: Preferences) -> None:
    """Give the model's helper processes the reader's thread count (``cpu_threads``; 0 lets
    torch choose). Only before torch is imported: torch reads OMP_NUM_THREADS once."""
    if prefs.cpu_threads and "torch" not in sys.modules:
        os.environ.setdefault("OMP_NUM_THREADS", str(prefs.cpu_threads))


def model_proxy(profile: Profile, prefs: Preferences) -> Ranking:
    """The ranker for ``profile``: a proxy to the model's helper process on the reader's
    device ("auto" lets it choose), started on first use, with the thread count applied."""
    limit_threads(prefs)
    return RemoteRanker(profile, device=None if prefs.device == "auto" else prefs.device)
