"""The README's launch command: ``scripts/run.sh`` installs only when the requirements changed
(a stamp in .venv), and starts the installed copy when an install is due but cannot be done.

Run in a copy of the scripts beside a fake ``.venv/bin/python`` that logs how it was called,
so nothing is installed and nothing touches the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1" = -m ] && [ "$2" = pip ]; then exit "${FAKE_PIP_RC:-0}"; fi
if [ "$1" = -m ] && [ "$2" = app ]; then echo "window for: $*"; fi
exit 0
"""


def _checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for name in ("run.sh", "bootstrap.sh"):
        shutil.copy2(ROOT / "scripts" / name, repo / "scripts" / name)
    shutil.copy2(ROOT / "pyproject.toml", repo / "pyproject.toml")
    python = repo / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON, encoding="utf-8")
    python.chmod(0o755)
    return repo


def _launch(repo: Path, log: Path, pip_rc: int = 0) -> tuple[subprocess.CompletedProcess[str], str]:
    log.write_text("", encoding="utf-8")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "FAKE_LOG": str(log),
        "FAKE_PIP_RC": str(pip_rc),
    }
    env.pop("FORCE", None)
    out = subprocess.run(
        ["bash", str(repo / "scripts" / "run.sh"), "--data-dir", "/tmp/p"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return out, log.read_text(encoding="utf-8")


def test_a_relaunch_installs_only_when_the_requirements_changed(tmp_path: Path) -> None:
    repo = _checkout(tmp_path)
    log = tmp_path / "calls.log"

    first, calls = _launch(repo, log)
    assert first.returncode == 0, first.stderr
    assert "-m pip install" in calls and "window for: -m app --data-dir /tmp/p" in first.stdout

    again, calls = _launch(repo, log)
    assert again.returncode == 0, again.stderr
    assert calls.splitlines() == ["-m app --data-dir /tmp/p"]  # no pip: nothing to install

    pyproject = repo / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text + '\n[tool.ruff.lint.isort]\nknown-first-party = ["app"]\n', "utf-8")
    settings, calls = _launch(repo, log)
    assert settings.returncode == 0, settings.stderr
    assert "pip" not in calls  # a linter's setting is no requirement

    pyproject.write_text(text.replace('"nh3>=0.2.17",', '"nh3>=0.2.18",'), "utf-8")
    changed, calls = _launch(repo, log)
    assert changed.returncode == 0, changed.stderr
    assert "-m pip install" in calls


def test_an_install_that_cannot_be_done_starts_the_installed_copy(tmp_path: Path) -> None:
    repo = _checkout(tmp_path)
    log = tmp_path / "calls.log"
    offline, calls = _launch(repo, log, pip_rc=1)  # no stamp yet, and pip cannot reach an index
    assert offline.returncode == 0, offline.stderr
    assert "-m pip install" in calls
    assert "starting the installed copy" in offline.stderr
    assert "window for: -m app --data-dir /tmp/p" in offline.stdout

    (repo / ".venv" / "bin" / "python").write_text(
        FAKE_PYTHON.replace('exit "${FAKE_PIP_RC:-0}"', "exit 1").replace("exit 0", "exit 1"),
        encoding="utf-8",
    )
    missing, _ = _launch(repo, log, pip_rc=1)  # nothing installed either: say so and stop
    assert missing.returncode == 1
    assert "installing Heedful failed" in missing.stderr
    assert "window for" not in missing.stdout
