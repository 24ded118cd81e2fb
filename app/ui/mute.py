"""The mute rules dialog: keywords or regular expressions that dim matching headlines."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.mute import Rule, validate

RULE_ROLE = Qt.ItemDataRole.UserRole + 1


def _label(rule: Rule) -> str:
    return f"/{rule.pattern}/  (regular expression)" if rule.regex else rule.pattern


class MuteDialog(QDialog):
    """Lists, adds and removes mute rules; a rule that does not compile is refused in words."""

    def __init__(self, rules: Sequence[Rule], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Mute rules")
        self.list = QListWidget()
        for rule in rules:
            self._append(rule)
        self.pattern = QLineEdit()
        self.pattern.setPlaceholderText("a word or phrase, e.g. crypto")
        self.regex = QCheckBox("Regular expression")
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #d62728")
        row = QHBoxLayout()
        row.addWidget(self.pattern, 1)
        row.addWidget(self.regex)
        row.addWidget(self.add_button)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "Headlines matching a rule are dimmed and moved to the end of the river; "
                "nothing is hidden."
            )
        )
        layout.addWidget(self.list)
        layout.addWidget(self.remove_button)
        layout.addLayout(row)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.pattern.returnPressed.connect(self._on_add_button_clicked)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.resize(460, 360)

    def _append(self, rule: Rule) -> None:
        item = QListWidgetItem(_label(rule))
        item.setData(RULE_ROLE, rule)
        self.list.addItem(item)

    def add_rule(self, pattern: str, regex: bool) -> bool:
        """Add a rule; False (with the reason shown) when it is unusable or already there."""
        rule = Rule(pattern.strip(), regex)
        problem = validate(rule)
        if problem is None and rule in self.rules():
            problem = "that rule is already there"
        self.problem.setText(problem or "")
        if problem is not None:
            return False
        self._append(rule)
        self.pattern.clear()
        return True

    def rules(self) -> list[Rule]:
        """The rules as listed."""
        found: list[Rule] = []
        for row in range(self.list.count()):
            rule = self.list.item(row).data(RULE_ROLE)
            if isinstance(rule, Rule):
                found.append(rule)
        return found

    def _on_add_button_clicked(self) -> None:
        self.add_rule(self.pattern.text(), self.regex.isChecked())

    def _on_remove_button_clicked(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
