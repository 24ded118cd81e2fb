"""The feedback list: judgements newest first, each can be taken back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.services import feedback
from app.services.profile import Profile
from app.storage import events
from app.ui.feedback import FeedbackDialog
from app.ui.worker import JobRunner
from tests.gui.conftest import fill


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[JobRunner]:
    owner = QWidget()
    qtbot.addWidget(owner)
    jobs = JobRunner(owner)
    yield jobs
    jobs.shutdown()


def test_judgements_are_listed_and_undone(
    profile: Profile, runner: JobRunner, qtbot: QtBot
) -> None:
    first, second, *_ = fill(profile, 4)
    feedback.give(profile.db, "more", article_id=first)
    less = feedback.give(profile.db, "less", article_id=second)
    dialog = FeedbackDialog(profile.db, runner)
    qtbot.addWidget(dialog)
    dialog.reload()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=5000)
    assert dialog.rows[0].id == less.id  # newest first
    assert dialog.table.item(0, 1).text().startswith("Less like")
    assert not dialog.undo_button.isEnabled()
    dialog.table.selectRow(0)
    assert dialog.undo_button.isEnabled()
    dialog.undo_button.click()

    def in_force() -> list[str]:
        with profile.db.read() as s:
            return [f.kind for f in events.feedback(s)]

    qtbot.waitUntil(lambda: in_force() == ["more"], timeout=5000)
    qtbot.waitUntil(lambda: dialog.table.item(0, 2).text() == "undone", timeout=5000)


def test_no_feedback_says_so(profile: Profile, runner: JobRunner, qtbot: QtBot) -> None:
    dialog = FeedbackDialog(profile.db, runner)
    qtbot.addWidget(dialog)
    dialog.set_rows([])
    assert not dialog.empty.isHidden()
