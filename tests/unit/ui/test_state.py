"""The window's presentation model, without a window: what it holds and what it tells."""

from __future__ import annotations

import subprocess
import sys

from app.ui.state import REFRESH, TRAIN, ViewState


def watched() -> tuple[ViewState[str], list[str]]:
    state: ViewState[str] = ViewState("foryou")
    heard: list[str] = []
    state.observe(heard.append)
    return state, heard


def test_each_change_is_told_by_name_and_a_non_change_is_not() -> None:
    state, heard = watched()
    state.place = "foryou"
    state.place = "latest"
    state.show_read = True
    state.show_read = True
    state.search = "  fusion "
    state.search = "fusion"
    assert heard == ["place", "show_read", "search"]
    assert (state.place, state.show_read, state.search) == ("latest", True, "fusion")


def test_busy_jobs_start_and_finish_independently() -> None:
    state, heard = watched()
    state.start(REFRESH)
    state.start(TRAIN)
    state.start(REFRESH)
    state.finish(REFRESH)
    state.finish(REFRESH)
    assert heard == ["busy", "busy", "busy"]
    assert not state.is_busy(REFRESH) and state.is_busy(TRAIN)
    assert state.busy == frozenset({TRAIN})


def test_progress_and_status_messages() -> None:
    state, heard = watched()
    state.progress_text = "Refreshing…"
    state.progress_bar = (0, 0)
    state.progress_bar = (3, 10)
    state.progress_bar = None
    state.say("Feed saved.")
    state.say("Feed saved.")  # said again: the status bar shows it again
    assert heard == ["progress"] * 4 + ["status", "status"]
    assert state.status == "Feed saved."


def test_closing_is_told_once() -> None:
    state, heard = watched()
    state.close()
    state.close()
    assert state.closed and heard == ["closed"]


def test_the_state_loads_without_qt() -> None:
    code = "import sys, app.ui.state; sys.exit('PySide6' in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
