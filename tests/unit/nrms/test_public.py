"""nrms_core's public surface: every name the app uses, each loaded only when asked for."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import nrms_core

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", nrms_core.__all__)
def test_each_public_name_is_its_submodule_s_object(name: str) -> None:
    module, attribute = nrms_core._HOME[name]
    home = importlib.import_module(f"nrms_core.{module}")
    assert getattr(nrms_core, name) is getattr(home, attribute)
    assert name in dir(nrms_core)


def test_the_public_names_are_the_table_s() -> None:
    assert sorted(nrms_core.__all__) == sorted(nrms_core._HOME)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = nrms_core.no_such_name  # type: ignore[attr-defined]


def test_tokenising_and_scoring_through_the_package_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from nrms_core import click_score, content_words, forget_titles, source_token\n"
        "assert click_score(2.0, 1.5, 0.25, 0.5) == 3.75\n"
        "assert source_token('feed1') is not None and content_words(['cup']) is not None\n"
        "forget_titles()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_the_recommender_loads_torch_when_asked_for() -> None:
    code = (
        "import sys\n"
        "import nrms_core\n"
        "assert 'torch' not in sys.modules\n"
        "from nrms_core import Recommender\n"
        "assert 'torch' in sys.modules and Recommender.__module__ == 'nrms_core.recommender'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
