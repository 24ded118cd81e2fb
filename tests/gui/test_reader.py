"""The reader pane fetches nothing by itself; the delegate and the Why this? panel draw."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QModelIndex, QRect, QUrl
from PySide6.QtGui import QColor, QImage, QPainter, QStandardItem, QStandardItemModel, QTextDocument
from PySide6.QtWidgets import QListView, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from app.services.highlight import TitleShares
from app.services.ranking import ArticleExplanation, FeedShare, PastShare, WordShare
from app.storage.record import ArticleRecord
from app.ui.delegate import RiverDelegate, age, tints
from app.ui.explanation import ExplanationPanel, explanation_html
from app.ui.reader import ReaderView, image_urls, page
from app.ui.river import Role

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def article(**changes: object) -> ArticleRecord:
    values: dict[str, object] = {
        "id": 1,
        "feed_id": 1,
        "feed_title": "Example <News>",
        "url": "https://example.org/story",
        "title": "Rocket <b>launch</b> & more",
        "summary_html": (
            '<p>Text <img src="https://img.example.org/a.png"> and '
            '<img src="https://img.example.org/b.png?x=1&amp;y=2"></p>'
        ),
        "summary_text": "Text",
        "author": "A. Writer",
        "published": NOW,
        "fetched": NOW,
        "read": False,
        "starred": False,
    }
    values.update(changes)
    return ArticleRecord(**values)  # type: ignore[arg-type]


def png() -> bytes:
    image = QImage(4, 4, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def test_image_urls_are_found_and_unescaped() -> None:
    found = image_urls(article().summary_html)
    assert found == ["https://img.example.org/a.png", "https://img.example.org/b.png?x=1&y=2"]
    assert image_urls("<img src=\"data:image/png;base64,AAAA\"><img src='file:///x.png'>") == []


def test_page_escapes_the_header() -> None:
    html = page(article(), blocked_images=2)
    assert "Rocket &lt;b&gt;launch&lt;/b&gt; &amp; more" in html
    assert "Example &lt;News&gt;" in html
    assert "2 remote images are not loaded" in html


def test_remote_images_are_refused_until_loaded(qtbot: QtBot) -> None:
    view = ReaderView()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.show_article(article())
    qtbot.waitUntil(lambda: bool(view.refused), timeout=2000)
    assert set(view.refused) >= {"https://img.example.org/a.png"}
    assert view.pending_images() == [
        "https://img.example.org/a.png",
        "https://img.example.org/b.png?x=1&y=2",
    ]
    kind = QTextDocument.ResourceType.ImageResource.value
    assert view.loadResource(kind, QUrl("https://img.example.org/a.png")) is None
    assert view.loadResource(kind, QUrl("file:///etc/passwd")) is None
    assert view.add_images({"https://img.example.org/a.png": png(), "https://x/bad": b"nope"}) == 1
    assert view.pending_images() == ["https://img.example.org/b.png?x=1&y=2"]
    loaded = view.loadResource(kind, QUrl("https://img.example.org/a.png"))
    assert isinstance(loaded, QImage) and loaded.width() == 4
    assert "1 remote image is not loaded" in view.toHtml() or "not loaded" in view.toPlainText()


def test_links_are_reported_not_followed(qtbot: QtBot) -> None:
    view = ReaderView()
    qtbot.addWidget(view)
    view.show_article(article())
    before = view.toPlainText()
    with qtbot.waitSignal(view.link_opened) as blocker:
        view.anchorClicked.emit(QUrl("https://example.org/story"))
    assert blocker.args == [QUrl("https://example.org/story")]
    assert view.toPlainText() == before  # the pane did not navigate


def test_age() -> None:
    assert age(None) == ""
    assert age(NOW - timedelta(seconds=5), NOW) == "now"
    assert age(NOW - timedelta(minutes=5), NOW) == "5 min"
    assert age(NOW - timedelta(hours=3), NOW) == "3 h"
    assert age(NOW - timedelta(days=2), NOW) == "2 d"
    assert "2025" in age(NOW - timedelta(days=400), NOW)


def test_tints_follow_signed_shares() -> None:
    title = "Rocket launch delayed, rocket fixed"
    spans = tints(
        title,
        TitleShares((("rocket", 0.5), ("launch", -0.25), ("delayed", 0.01), ("rocket", 0.1))),
    )
    # only words with 15 % or more of the title's |share| (0.86) are tinted, by their part
    assert [(title[a:b], round(w, 2)) for a, b, w in spans] == [
        ("Rocket", 1.0),
        ("launch", -0.58),
    ]
    four = TitleShares((("rocket", 0.3), ("launch", 0.3), ("delayed", 0.3), ("fixed", 0.3)))
    assert len(tints("rocket launch delayed fixed", four)) == 3  # at most three words
    assert tints(title, TitleShares()) == []
    # the tokenizer splits a possessive ("england", "'s"): the word is still tinted
    owned = "England’s defence and O'Neill's goal"
    shares = TitleShares(
        (("england", 0.8), ("’s", 0.0), ("defence", -0.05), ("o", 0.0), ("neill", 0.6))
    )
    assert [owned[a:b] for a, b, _ in tints(owned, shares)] == ["England", "Neill"]


def test_a_row_the_feed_carries_tints_no_word() -> None:
    title = "Could Yukos be a blessing in disguise?"
    words = (
        *(("could", 0.01), ("yukos", 0.01), ("be", 0.0)),
        *(("a", 0.044), ("blessing", -0.035), ("in", 0.045)),
    )
    assert len(tints(title, TitleShares(words))) == 3  # alone, the small shares pass
    assert tints(title, TitleShares(words, feed=2.09)) == []  # beside the feed they are noise
    carried = TitleShares((("yukos", 0.9), ("blessing", -0.4)), feed=2.09)
    assert [title[a:b] for a, b, _ in tints(title, carried)] == ["Yukos", "blessing"]


def test_delegate_paints_every_kind_of_row(qtbot: QtBot) -> None:
    model = QStandardItemModel()
    rows = [
        (article(), None, False, ()),
        (
            article(id=2, read=True, starred=True),
            1.25,
            False,
            TitleShares((("rocket", 0.4), ("more", -0.2))),
        ),
        (article(id=3, title=""), -0.5, True, None),
    ]
    for record, score, muted, shares in rows:
        item = QStandardItem(record.title)
        item.setData(record, Role.ARTICLE)
        item.setData(score, Role.SCORE)
        item.setData(muted, Role.MUTED)
        item.setData(shares, Role.SHARES)
        model.appendRow(item)
    model.appendRow(QStandardItem("not an article"))
    view = QListView()
    qtbot.addWidget(view)
    delegate = RiverDelegate(view)
    view.setModel(model)
    view.setItemDelegate(delegate)
    view.resize(400, 300)
    image = QImage(400, 60, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    for row in range(model.rowCount()):
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.rect = QRect(0, 0, 400, 56)
        index = model.index(row, 0)
        assert delegate.sizeHint(option, index).height() > 20
        painter = QPainter(image)
        delegate.paint(painter, option, index)
        painter.end()
    assert image.pixelColor(5, 5).isValid()
    assert view.grab().width() == 400
    assert not QModelIndex().isValid()


def test_a_repaint_from_the_kept_layout_draws_what_a_fresh_one_does(qtbot: QtBot) -> None:
    model = QStandardItemModel()
    item = QStandardItem()
    item.setData(article(title="Rocket launch delayed again by the weather"), Role.ARTICLE)
    item.setData(1.5, Role.SCORE)
    item.setData(TitleShares((("rocket", 0.6), ("launch", 0.1), ("weather", -0.3))), Role.SHARES)
    model.appendRow(item)
    view = QListView()
    qtbot.addWidget(view)
    view.setModel(model)
    kept = RiverDelegate(view)

    def drawn(delegate: RiverDelegate) -> QImage:
        image = QImage(400, 60, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.rect = QRect(0, 0, 400, 56)
        painter = QPainter(image)
        delegate.paint(painter, option, model.index(0, 0))
        painter.end()
        return image

    first = drawn(kept)
    assert drawn(kept) == first == drawn(RiverDelegate(view))
    item.setData(TitleShares((("rocket", -0.6), ("delayed", 0.5))), Role.SHARES)  # tinted anew
    again = drawn(kept)
    assert again == drawn(RiverDelegate(view)) and again != first
    item.setData(
        article(title="Rocket launch delayed again by the weather", read=True), Role.ARTICLE
    )
    assert drawn(kept) == drawn(RiverDelegate(view)) != again  # read: the title's weight moved


def explanation() -> ArticleExplanation:
    return ArticleExplanation(
        article_id=5,
        title="Rocket launch <today>",
        score=0.3,
        words=(WordShare("rocket", 0.6, 0.4), WordShare("launch", 0.3, -0.1)),
        history=(PastShare(9, "Mars rover lands", 0.7, 0.25), PastShare(8, "Cup final", 0.3, 0.05)),
        faithfulness_words=0.8,
        faithfulness_history=0.5,
        model_version=3,
    )


def test_explanation_names_words_and_past_reads(qtbot: QtBot) -> None:
    panel = ExplanationPanel()
    qtbot.addWidget(panel)
    panel.show_explanation(explanation())
    text = panel.text()
    assert "Mars rover lands" in text
    assert "rocket" in text and "+0.400" in text
    assert "Model version 3" in text
    assert "&lt;today&gt;" in explanation_html(explanation())
    with qtbot.waitSignal(panel.closed, timeout=1000):
        panel.findChild(__import__("PySide6.QtWidgets").QtWidgets.QToolButton).click()
    assert panel.isHidden()
    panel.show_message("No model yet")
    assert panel.text() == "No model yet"


def test_the_feeds_own_share_is_shown_and_closes_the_sums(qtbot: QtBot) -> None:
    base = explanation()
    e = dataclasses.replace(base, score=base.score + 0.2, feed=FeedShare("Space <news>", 0.2))
    panel = ExplanationPanel()
    qtbot.addWidget(panel)
    panel.show_explanation(e)
    text = panel.text()
    assert "how often you open Space <news>" in text and "+0.200" in text
    assert "Space &lt;news&gt;" in explanation_html(e)
    assert "You open Space <news> more often" in e.summary()
    data = e.as_dict()
    assert data["click_score"] == pytest.approx(0.5)
    assert data["feed"] == {"title": "Space <news>", "share": 0.2}
    assert sum(w["share"] for w in data["words"]) == pytest.approx(data["score"])
    assert sum(h["share"] for h in data["history"]) == pytest.approx(data["score"])
    assert base.as_dict()["feed"] is None
    assert base.as_dict()["click_score"] == base.as_dict()["score"]


def test_word_biases_are_shown_and_close_the_sums(qtbot: QtBot) -> None:
    base = explanation()
    words = (
        WordShare("rocket", 0.6, 0.4, bias=0.3),
        WordShare("launch", 0.3, -0.1, bias=-0.05),
        WordShare("today", 0.1, 0.0, bias=0.05),  # too small to name
    )
    e = dataclasses.replace(base, score=base.score + 0.3, words=words, lexical=0.3)
    panel = ExplanationPanel()
    qtbot.addWidget(panel)
    panel.show_explanation(e)
    assert "+0.700" in panel.text()  # rocket: its share and its bias
    summary = e.summary()
    assert "because of “rocket” (+0.70" in summary
    assert "You open headlines with “rocket” (+0.300) more" in summary
    assert "launch”" not in summary and "today”" not in summary
    data = e.as_dict()
    assert data["lexical"] == pytest.approx(0.3)
    assert [w["bias"] for w in data["words"]] == [0.3, -0.05, 0.05]
    assert sum(w["share"] for w in data["words"]) == pytest.approx(data["score"])
    assert sum(h["share"] for h in data["history"]) == pytest.approx(data["score"])
    assert data["click_score"] == pytest.approx(data["score"] + data["lexical"])
    assert "You open headlines with" not in base.summary()


def test_equal_past_read_shares_are_not_passed_off_as_three_reasons() -> None:
    history = tuple(PastShare(i, f"Read {i}", 0.2, 0.006) for i in range(50))
    e = dataclasses.replace(explanation(), history=history)
    summary = e.summary()
    assert "3 of your 50 past reads carry 6 % of this part" in summary
    assert "because you read" not in summary
    assert "Ranked high mostly because of “rocket”" in explanation().summary()
