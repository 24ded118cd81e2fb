"""The model host and the training processes behind RemoteRanker: requests round-trip, a dead
host is reported and replaced, a round can be cancelled, and no helper outlives its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.services import host
from app.services.message import RankRiver
from app.services.profile import Profile
from app.services.ranking import RankingError, River
from app.services.remote import Helper, RemoteRanker
from app.storage import events
from harness.sample import seed_profile
from harness.training import install_model

ROOT = Path(__file__).resolve().parents[3]
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("host") / "profile"
    seed_profile(root, feed_count=3, per_feed=12, clicks=21)
    install_model(root)  # so that a training round fine-tunes (no GloVe to load)
    return root


@posix_only
def test_requests_round_trip_and_a_dead_host_is_reported_then_replaced(seeded: Path) -> None:
    host = Helper(str(seeded), None)
    try:
        river = host.ask(RankRiver(ranked=False, limit=5)).river
        assert isinstance(river, River) and len(river.items) == 5
        answers: dict[int, int] = {}

        def page(limit: int) -> None:
            answers[limit] = len(host.ask(RankRiver(ranked=False, limit=limit)).river.items)

        callers = [threading.Thread(target=page, args=(n,)) for n in (1, 2, 3, 4)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(30)
        assert answers == {1: 1, 2: 2, 3: 3, 4: 4}  # concurrent callers get their own answers
        first = host.pid
        assert first is not None and first != os.getpid()

        os.kill(first, signal.SIGSTOP)  # the next request cannot be answered ...
        failures: list[BaseException] = []

        def ask() -> None:
            try:
                host.ask(RankRiver(ranked=False, limit=5))
            except RankingError as exc:
                failures.append(exc)

        caller = threading.Thread(target=ask)
        caller.start()
        time.sleep(0.3)
        os.kill(first, signal.SIGKILL)  # ... and the host dies under it
        caller.join(10)
        assert not caller.is_alive()
        assert len(failures) == 1 and "stopped unexpectedly" in str(failures[0])

        again = host.ask(RankRiver(ranked=False, limit=3)).river  # a new host answers
        assert len(again.items) == 3
        second = host.pid
        assert second is not None and second != first
    finally:
        host.close()
    assert host.pid is None
    assert not alive(second), "the host did not exit when asked"
    with pytest.raises(RankingError, match="shut down"):
        host.ask(RankRiver(ranked=False))


@posix_only
def test_a_host_ends_with_the_process_that_started_it(seeded: Path) -> None:
    script = (
        "import os, sys\n"
        "from app.services.message import RankRiver\n"
        "from app.services.remote import Helper\n"
        "if __name__ == '__main__':\n"
        f"    host = Helper({str(seeded)!r}, None)\n"
        "    host.ask(RankRiver(ranked=False, limit=1))\n"
        "    print(host.pid, flush=True)\n"
        "    os._exit(0)  # no clean-up: as if the window were killed\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout.split()[-1])
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid), "the model host outlived its parent"


def test_a_training_round_in_its_own_process_can_be_cancelled(seeded: Path) -> None:
    with Profile(seeded) as profile:
        ranker = RemoteRanker(profile)
        stages: list[str] = []
        try:
            report = ranker.train(
                epochs=3, progress=lambda p: stages.append(p.stage), should_stop=lambda: True
            )
        finally:
            ranker.close()
        assert report.cancelled and report.version is None
        with profile.db.read() as s:
            assert [v.id for v in events.list_model_versions(s)] == [1]  # nothing new


def test_helper_threads_sleep_while_idle_unless_a_wait_policy_was_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # records the real value, restored afterwards
    monkeypatch.delenv("OMP_WAIT_POLICY")
    host.sleep_when_idle()
    assert host.os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the reader's setting wins
    host.sleep_when_idle()
    assert host.os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_helpers_set_the_wait_policy_before_torch_loads() -> None:
    """A spawned helper imports this module before it serves; torch must not be loaded by
    then, or OMP_WAIT_POLICY would come too late."""
    code = "import sys, app.services.host; print('torch' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_training_leaves_a_core_to_the_window_unless_threads_were_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # records the real value, restored afterwards
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(host.os, "cpu_count", lambda: 4)
    host.spare_a_core()
    assert host.os.environ["OMP_NUM_THREADS"] == "3"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the reader's setting wins
    host.spare_a_core()
    assert host.os.environ["OMP_NUM_THREADS"] == "2"
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(host.os, "cpu_count", lambda: 1)
    host.spare_a_core()
    assert "OMP_NUM_THREADS" not in host.os.environ
