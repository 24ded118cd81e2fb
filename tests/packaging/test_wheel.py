"""The wheel is the whole product: build it, install it into a fresh virtual environment
outside the source tree, and run it from there (``--version``, a headless command on an empty
profile, and the window, offscreen, for two seconds).

Kept fast for CI (about 15 s): the source is copied and built without build isolation by the
setuptools already installed, and the fresh environment sees the already-installed
dependencies through a .pth file, so only Heedful itself is installed into it (torch is not).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import APP_ID, __version__

ROOT = Path(__file__).resolve().parents[2]
# harness/ is copied too, to show that the test helpers beside the product stay out of it
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "app", "nrms_core", "resources", "harness")

PURELIB = "import sysconfig; print(sysconfig.get_path('purelib'))"

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "-w", str(out), str(src)],
        check=True, timeout=240, cwd=src,
    )  # fmt: skip
    (built,) = out.glob("heedful-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv (outside the source tree) with the wheel; returns its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    fresh = Path(
        subprocess.run(
            [str(env_dir / "bin" / "python"), "-c", PURELIB],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    deps = Path(sysconfig.get_path("purelib"))
    (fresh / "heedful_deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
         "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True, timeout=240,
    )  # fmt: skip
    yield env_dir / "bin"


def _run(bin_dir: Path, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HEEDFUL_HOME")}
    return subprocess.run(
        [str(bin_dir / "heedful"), *args],
        cwd=cwd,
        env={**clean, "QT_QPA_PLATFORM": "offscreen", "XDG_CACHE_HOME": str(cwd / "cache"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_wheel_carries_the_resources_and_the_entry_points(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("heedful.svg", "heedful.qss", "default_feeds.opml", "feed.svg"):
        assert f"app/resources/{name}" in names
    assert f"app/resources/desktop-entry/{APP_ID}.desktop" in names
    assert f"app/resources/desktop-entry/icons/hicolor/256x256/apps/{APP_ID}.png" in names
    assert "nrms_core/stopwords.txt" in names
    assert "nrms_core/mind/evaluate.py" in names  # the research tools' own subpackage
    assert not any(n.startswith("harness/") for n in names)
    assert "app/ui/launcher.py" in names
    info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(info).decode()
    assert "[console_scripts]\nheedful = app.__main__:main" in entry_points
    assert "[gui_scripts]" in entry_points
    metadata = zipfile.ZipFile(wheel).read(info.replace("entry_points.txt", "METADATA")).decode()
    assert f"Version: {__version__}" in metadata
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert any("torch" in line for line in requires)
    assert not any("pyarrow" in line for line in requires)
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_the_installed_command_runs_outside_the_source_tree(
    installed: Path, tmp_path: Path
) -> None:
    version = _run(installed, ["--version"], tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"heedful {__version__}"

    where = subprocess.run(
        [str(installed / "python"), "-c", "import app.services.bundle as b; print(b.root())"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    root = Path(where.stdout.strip())
    assert str(installed.parent) in str(root) and (root / "heedful.svg").is_file()

    stats = _run(installed, ["--data-dir", str(tmp_path / "p1"), "stats", "--json"], tmp_path)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["feeds"] == 0


def test_the_installed_window_opens_and_closes(installed: Path, tmp_path: Path) -> None:
    shown = _run(installed, ["--data-dir", str(tmp_path / "p2")], tmp_path, HEEDFUL_QUIT_AFTER="2")
    assert shown.returncode == 0, shown.stderr
    assert "Traceback" not in shown.stderr
    assert "window shown" in shown.stderr
    assert "missing icon" not in shown.stderr
    assert "cannot read the stylesheet" not in shown.stderr


def test_the_installed_command_puts_itself_in_the_menu(installed: Path, tmp_path: Path) -> None:
    share = tmp_path / "share"
    out = _run(installed, ["--install-desktop-entry"], tmp_path, XDG_DATA_HOME=str(share))
    assert out.returncode == 0, out.stderr
    entry = (share / "applications" / f"{APP_ID}.desktop").read_text(encoding="utf-8")
    assert f"Exec={installed / 'heedful'}" in entry.splitlines()
    icons = share / "icons" / "hicolor"
    assert (icons / "256x256" / "apps" / f"{APP_ID}.png").is_file()
    assert (icons / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
