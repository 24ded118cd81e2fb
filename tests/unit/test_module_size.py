"""No module of the product grows past 500 lines: a module that long is doing more than one
job (issue 17); split it by job when this fails."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 500


@pytest.mark.parametrize("package", ["app", "nrms_core"])
def test_no_module_is_longer_than_the_limit(package: str) -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in sorted((ROOT / package).rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert long == {}
