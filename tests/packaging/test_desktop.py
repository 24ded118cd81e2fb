"""Desktop integration: the .desktop file, the AppStream metainfo and the icons, as shipped
and as ``heedful --install-desktop-entry`` installs them for the current user.

The validators run when they are installed (``apt-get install desktop-file-utils appstream``)
and the tests that need them skip cleanly otherwise.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from app import APP_ID
from app.services import bundle

DESKTOP = bundle.root() / "desktop-entry"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.skip(f"{name} is not installed")
    return exe


def test_the_icons_come_at_every_size() -> None:
    hicolor = DESKTOP / "icons" / "hicolor"
    for size in bundle.ICON_SIZES:
        png = hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert _png_size(png) == (size, size)
    scalable = hicolor / "scalable" / "apps" / f"{APP_ID}.svg"
    assert scalable.read_bytes() == (bundle.root() / "heedful.svg").read_bytes()


def test_the_metainfo_names_this_release_and_the_entry() -> None:
    import xml.etree.ElementTree as ET

    from app import __version__

    root = ET.parse(DESKTOP / f"{APP_ID}.metainfo.xml").getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == f"{APP_ID}.desktop"
    newest = root.find("releases/release")
    assert newest is not None and newest.get("version") == __version__
    assert root.findtext("project_license") == "MIT"


def test_install_desktop_entry_writes_the_user_files(tmp_path: Path) -> None:
    written = bundle.install_desktop_entry(tmp_path)
    entry = tmp_path / "applications" / f"{APP_ID}.desktop"
    assert entry in written
    assert (tmp_path / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    for size in bundle.ICON_SIZES:
        assert (
            tmp_path / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        ).is_file()
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    lines = entry.read_text(encoding="utf-8").splitlines()
    (exec_line,) = [line for line in lines if line.startswith("Exec=")]
    command = exec_line.removeprefix("Exec=")
    assert command.split()[0].startswith("/") or command.startswith('"/')
    assert f"Icon={APP_ID}" in lines


def test_the_command_installs_under_xdg_data_home(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share"), "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "app", "--install-desktop-entry"],
        env=env, capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "share" / "applications" / f"{APP_ID}.desktop").is_file()


def test_exec_quoting_follows_the_desktop_entry_spec() -> None:
    assert bundle._exec_line(["/opt/heedful/bin/heedful"]) == "/opt/heedful/bin/heedful"
    assert bundle._exec_line(["/my apps/python", "-m", "app"]) == '"/my apps/python" -m app'
    assert bundle._exec_line(['/a"b$c']) == '"/a\\"b\\$c"'
    assert bundle._exec_line(["/100%/x"]) == "/100%%/x"


def test_desktop_file_validate_accepts_the_shipped_and_the_installed_entry(tmp_path: Path) -> None:
    exe = _tool("desktop-file-validate")
    bundle.install_desktop_entry(tmp_path)
    for entry in (DESKTOP / f"{APP_ID}.desktop", tmp_path / "applications" / f"{APP_ID}.desktop"):
        out = subprocess.run([exe, str(entry)], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "error" not in (out.stdout + out.stderr).lower()


def test_appstreamcli_validates_the_metainfo() -> None:
    exe = _tool("appstreamcli")
    out = subprocess.run(
        [exe, "validate", "--no-net", str(DESKTOP / f"{APP_ID}.metainfo.xml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
