"""The helpers' low CPU priority: the highest niceness where the system allows it, else nothing,
never an error; a helper lowers its priority before it starts its first thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.services import lifeline

ROOT = Path(__file__).resolve().parents[3]


class Calls:
    """Records the calls of a fake ``os`` function, which raises ``error`` when given."""

    def __init__(self, error: OSError | None = None) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.error = error

    def __call__(self, *args: object) -> int:
        self.calls.append(args)
        if self.error is not None:
            raise self.error
        return 19


def test_a_helper_takes_the_highest_niceness(monkeypatch: pytest.MonkeyPatch) -> None:
    nice = Calls()
    monkeypatch.setattr(os, "nice", nice, raising=False)
    assert lifeline.lower_priority() == "nice"
    assert nice.calls == [(19,)]


@pytest.mark.parametrize("missing", [False, True])
def test_no_niceness_is_no_error(monkeypatch: pytest.MonkeyPatch, missing: bool) -> None:
    """Without os.nice (Windows), or refused, the helper runs at the normal priority."""
    if missing:
        monkeypatch.delattr(os, "nice", raising=False)
    else:
        monkeypatch.setattr(os, "nice", Calls(PermissionError(1, "Operation not permitted")))
    assert lifeline.lower_priority() == "normal"


def test_background_lowers_the_priority_before_starting_its_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Linux sets a niceness for the calling thread, and the threads it starts afterwards
    inherit it, so the parent watch (and torch's threads later) must start after it."""
    order: list[str] = []

    def lower() -> str:
        order.append("lower")
        return "nice"

    monkeypatch.setattr(lifeline, "lower_priority", lower)
    monkeypatch.setattr(lifeline, "watch_parent", lambda parent: order.append(f"watch {parent}"))
    lifeline.background(42)
    assert order == ["lower", "watch 42"]


@pytest.mark.skipif(not hasattr(os, "nice"), reason="Unix niceness")
def test_a_real_helper_ends_at_the_highest_niceness() -> None:
    """Unprivileged; run in a child so that this test process keeps its priority. A thread
    started afterwards has it too (Linux sets it per thread)."""
    code = (
        "import os, threading\n"
        "from app.services import lifeline\n"
        "mode = lifeline.lower_priority()\n"
        "seen = []\n"
        "t = threading.Thread(target=lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))\n"
        "t.start(); t.join()\n"
        "print(mode, os.getpriority(os.PRIO_PROCESS, 0), seen[0])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    assert out == ["nice", "19", "19"]
