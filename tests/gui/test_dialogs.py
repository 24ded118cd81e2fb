"""Dialogs open, validate what is typed, and hand back plain values."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from app.services.mute import Rule
from app.services.preference import Preferences
from app.storage.record import FeedRecord, ModelVersionRecord
from app.ui.mute import MuteDialog
from app.ui.preference import SettingsDialog
from app.ui.subscription import AddFeedDialog, FeedPropertiesDialog
from app.ui.training import ModelDialog, TrainingChart, metric, model_auc

NOW = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def feed_record(**changes: object) -> FeedRecord:
    values: dict[str, object] = {
        "id": 7,
        "url": "https://example.org/feed.xml",
        "title": "Example",
        "site_url": None,
        "folder": "News",
        "etag": None,
        "last_modified": None,
        "last_fetch": NOW,
        "next_fetch": None,
        "error_count": 2,
        "last_error": "the server answered 503",
        "update_interval": 1800,
        "enabled": True,
        "unread": 3,
        "total": 10,
    }
    values.update(changes)
    return FeedRecord(**values)  # type: ignore[arg-type]


def ok_button(box: QDialogButtonBox) -> bool:
    return box.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_add_feed_accepts_only_web_addresses(qtbot: QtBot) -> None:
    dialog = AddFeedDialog(["News", "Science"])
    qtbot.addWidget(dialog)
    assert not ok_button(dialog.buttons)
    dialog.url_edit.setText("javascript:alert(1)")
    assert not ok_button(dialog.buttons)
    assert "only http and https" in dialog.problem.text()
    dialog.url_edit.setText("ftp://example.org/feed")
    assert not ok_button(dialog.buttons)
    dialog.url_edit.setText("example.org/feed.xml")
    assert ok_button(dialog.buttons)
    assert dialog.problem.text() == ""
    assert dialog.url() == "https://example.org/feed.xml"
    assert dialog.folder() is None
    dialog.folder_box.setCurrentText("Science")
    assert dialog.folder() == "Science"


def test_feed_properties_edit(qtbot: QtBot) -> None:
    dialog = FeedPropertiesDialog(feed_record(), ["News"], ["10:00:00  Example: failed"])
    qtbot.addWidget(dialog)
    edit = dialog.edit()
    assert edit.title is None  # unchanged title stays the feed's own
    assert edit.folder == "News"
    assert edit.update_interval == 1800
    dialog.title_edit.setText("My example")
    dialog.interval.setValue(60)
    dialog.enabled_box.setChecked(False)
    dialog.folder_box.setCurrentText("")
    edit = dialog.edit()
    assert (edit.title, edit.update_interval, edit.enabled, edit.folder) == (
        "My example",
        3600,
        False,
        None,
    )
    dialog.url_edit.setText("file:///etc/passwd")
    assert not ok_button(dialog.buttons)
    dialog.url_edit.setText("https://example.org/other.xml")
    assert ok_button(dialog.buttons)


def test_settings_round_trip_and_refuse_out_of_range(qtbot: QtBot) -> None:
    prefs = Preferences(refresh_minutes=45, device="cpu", cpu_threads=2, remote_images=True)
    dialog = SettingsDialog(prefs)
    qtbot.addWidget(dialog)
    assert dialog.preferences() == prefs
    dialog.retention.setValue(30)
    dialog.device.setCurrentIndex(0)
    changed = dialog.preferences()
    assert changed.retention_days == 30
    assert changed.device == "auto"
    dialog.refresh.setValue(1)  # below the minimum: the spin box clamps it
    assert dialog.preferences().refresh_minutes == 5


def test_mute_dialog_refuses_broken_rules(qtbot: QtBot) -> None:
    dialog = MuteDialog([Rule("crypto")])
    qtbot.addWidget(dialog)
    assert dialog.rules() == [Rule("crypto")]
    assert not dialog.add_rule("(unclosed", True)
    assert "regular expression" in dialog.problem.text()
    assert not dialog.add_rule("   ", False)
    assert not dialog.add_rule("crypto", False)
    assert dialog.add_rule(r"\bcelebrit(y|ies)\b", True)
    assert dialog.problem.text() == ""
    assert dialog.rules() == [Rule("crypto"), Rule(r"\bcelebrit(y|ies)\b", True)]
    dialog.list.setCurrentRow(0)
    dialog.remove_button.click()
    assert dialog.rules() == [Rule(r"\bcelebrit(y|ies)\b", True)]


def version(n: int, loss: float | None, auc: float | None) -> ModelVersionRecord:
    return ModelVersionRecord(
        id=n,
        path=f"/tmp/model-{n}.pt",
        sha256="0" * 64,
        created=NOW,
        clicks_used=20 + n,
        metrics={"loss": loss, "holdout_auc": auc, "device": "cpu", "seconds": 1.5},
    )


def test_model_page_draws_rounds(qtbot: QtBot) -> None:
    dialog = ModelDialog()
    qtbot.addWidget(dialog)
    dialog.chart.grab()  # empty chart paints
    versions = [version(1, 1.2, 0.55), version(2, 0.9, None), version(3, 0.7, 0.68)]
    dialog.set_versions(versions)
    image = dialog.chart.grab().toImage()
    assert not image.isNull()
    assert dialog.table.rowCount() == 3
    assert dialog.table.item(0, 0).text() == "3"  # newest first
    assert dialog.table.item(0, 4).text() == "0.680"
    assert dialog.table.item(1, 4).text() == "–"
    dialog.set_training(True, "Training: learning from your clicks", 0.5)
    assert not dialog.train_button.isEnabled()
    assert dialog.cancel_button.isEnabled()
    assert dialog.progress.value() == 50
    with qtbot.waitSignal(dialog.cancel_requested, timeout=1000):
        dialog.cancel_button.click()


def test_chart_distinguishes_loss_and_auc_colours(qtbot: QtBot) -> None:
    chart = TrainingChart()
    qtbot.addWidget(chart)
    chart.resize(500, 260)
    chart.set_versions([version(1, 1.0, 0.6), version(2, 0.5, 0.8)])
    image = chart.grab().toImage()
    colours = {image.pixelColor(x, y).name() for x in range(0, 500, 2) for y in range(0, 260, 2)}
    assert "#3b82c4" in colours  # loss
    assert "#7c5cd6" in colours  # AUC


def test_the_model_figure_is_the_ranking_scores_once_recorded(qtbot: QtBot) -> None:
    old = version(1, 1.0, 0.6)  # a round from before the click score was measured
    new = dataclasses.replace(
        version(2, 0.9, 0.6), metrics={**version(2, 0.9, 0.6).metrics, "holdout_click_auc": 0.75}
    )
    assert model_auc(old) == 0.6 and model_auc(new) == 0.75
    dialog = ModelDialog()
    qtbot.addWidget(dialog)
    dialog.set_versions([old, new])
    assert dialog.table.item(0, 4).text() == "0.750"
    assert dialog.table.item(1, 4).text() == "0.600"


def test_metric_ignores_non_numbers() -> None:
    v = version(1, float("nan"), 0.7)
    assert metric(v, "loss") is None
    assert metric(v, "holdout_auc") == 0.7
    assert metric(v, "device") is None
    assert metric(v, "missing") is None
