"""The helpers' lower CPU priority and the window's short scheduler slice: each asks what the
system allows and falls back to nothing, never to an error; a helper lowers its priority
before it starts its first thread."""

from __future__ import annotations

import ctypes
import os
import platform
import struct
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
        return 5


@pytest.fixture
def slices(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The slices lifeline asks for (no real system call)."""
    asked: list[int] = []

    def ask(slice_ns: int) -> bool:
        asked.append(slice_ns)
        return True

    monkeypatch.setattr(lifeline, "_slice", ask)
    return asked


def test_a_helper_takes_niceness_5_and_the_default_slice(
    monkeypatch: pytest.MonkeyPatch, slices: list[int]
) -> None:
    nice = Calls()
    monkeypatch.setattr(os, "nice", nice, raising=False)
    assert lifeline.lower_priority() == "nice"
    assert nice.calls == [(5,)]
    assert slices == [0]  # the window's short slice, which it inherited, is given back


@pytest.mark.parametrize("missing", [False, True])
def test_no_niceness_is_no_error(
    monkeypatch: pytest.MonkeyPatch, slices: list[int], missing: bool
) -> None:
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
def child(code: str) -> list[str]:
    """What a Python child running ``code`` with this checkout importable prints, by word."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()


def test_a_real_helper_ends_5_lower() -> None:
    """Unprivileged; run in a child so that this test process keeps its priority. A thread
    started afterwards has it too (Linux sets it per thread)."""
    code = (
        "import os, threading\n"
        "from app.services import lifeline\n"
        "before = os.getpriority(os.PRIO_PROCESS, 0)\n"
        "mode = lifeline.lower_priority()\n"
        "seen = []\n"
        "t = threading.Thread(target=lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))\n"
        "t.start(); t.join()\n"
        "print(mode, before, os.getpriority(os.PRIO_PROCESS, 0), seen[0])\n"
    )
    out = child(code)
    assert out[0] == "nice"
    before, after, thread = map(int, out[1:])
    assert after == thread == min(before + 5, 19)


class FakeLibc:
    """Stands for the C library: records each syscall and answers ``result``."""

    def __init__(self, result: int = 0) -> None:
        self.result = result
        self.calls: list[tuple[int, bytes]] = []

    def syscall(self, number: int, pid: int, attr: ctypes.Array[ctypes.c_char], flags: int) -> int:
        assert (pid, flags) == (0, 0)  # the calling thread
        self.calls.append((number, attr.raw))
        return self.result


def fake_libc(monkeypatch: pytest.MonkeyPatch, libc: FakeLibc, machine: str = "x86_64") -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(platform, "machine", lambda: machine)
    monkeypatch.setattr(ctypes, "CDLL", lambda name, use_errno: libc)


def test_foreground_asks_linux_for_a_short_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = FakeLibc()
    fake_libc(monkeypatch, libc)
    monkeypatch.setattr(os, "getpriority", lambda which, who: 3)
    assert lifeline.foreground()
    [(number, raw)] = libc.calls
    assert number == 314  # sched_setattr on x86_64
    size, policy, flags, nice, priority, runtime = struct.unpack("=IIQiIQ", raw[:32])
    assert (size, policy, flags, priority, len(raw)) == (56, os.SCHED_OTHER, 0, 0, 56)
    assert nice == 3  # the thread's niceness is kept
    assert runtime == lifeline.FOREGROUND_SLICE_NS


def test_foreground_refused_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_libc(monkeypatch, FakeLibc(result=-1))
    assert not lifeline.foreground()


@pytest.mark.parametrize(("system", "machine"), [("win32", "AMD64"), ("linux", "riscv64")])
def test_no_foreground_slice_elsewhere(
    monkeypatch: pytest.MonkeyPatch, system: str, machine: str
) -> None:
    """Another system, or a machine whose system call number is not known: no call at all."""
    libc = FakeLibc()
    fake_libc(monkeypatch, libc, machine)
    monkeypatch.setattr(sys, "platform", system)
    assert not lifeline.foreground()
    assert libc.calls == []


def test_foreground_without_a_c_library_is_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: object, use_errno: bool) -> None:
        raise OSError("no C library")

    fake_libc(monkeypatch, FakeLibc())
    monkeypatch.setattr(ctypes, "CDLL", missing)
    assert not lifeline.foreground()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduler")
def test_a_real_slice_is_given_to_the_window_and_back_by_a_helper() -> None:
    """The real system calls, in a child (they change the calling thread's scheduling): a
    thread started after foreground inherits its slice, and lower_priority gives it back.
    Read back only where the kernel keeps a fair thread's slice (Linux 6.12 and later)."""
    code = (
        "import ctypes, struct, threading\n"
        "from app.services import lifeline\n"
        "def now():\n"
        "    buf = ctypes.create_string_buffer(56)\n"
        "    ctypes.CDLL(None).syscall(315, 0, buf, 56, 0)\n"
        "    return struct.unpack('=IIQiIQQQII', buf.raw)[5]\n"
        "default = now()\n"
        "print(lifeline.foreground())\n"
        "seen = []\n"
        "def helper():\n"
        "    seen.append(now()); lifeline.lower_priority(); seen.append(now())\n"
        "t = threading.Thread(target=helper); t.start(); t.join()\n"
        "print(default, now(), *seen)\n"
    )
    out = child(code)
    assert out[0] in ("True", "False")
    default, window, inherited, helper = map(int, out[1:])
    if out[0] == "True" and platform.machine() == "x86_64" and window != default:
        assert window == inherited == lifeline.FOREGROUND_SLICE_NS
        assert helper == default


def test_foreground_shortens_the_turns_at_the_gil(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_libc(monkeypatch, FakeLibc(result=-1))  # whether or not the slice is granted
    before = sys.getswitchinterval()
    try:
        lifeline.foreground()
        assert sys.getswitchinterval() == pytest.approx(lifeline.GIL_TURN_S)
    finally:
        sys.setswitchinterval(before)
