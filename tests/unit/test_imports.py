"""The import graph of the house: no cycle anywhere, and only the launcher opens the window.

The window's helpers (desks, scheduler, admin, tray) see it through protocols of the parts
they use, so none imports :mod:`app.ui.window`; that is what keeps the graph acyclic.
"""

from __future__ import annotations

import grimp
import pytest

WINDOW = "app.ui.window"
OPENS_THE_WINDOW = {"app.ui.launcher"}
"""The wiring: the only modules under app/ that may import the window (tests may too)."""


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("app", "nrms_core")


def cycles(graph: grimp.ImportGraph, package: str) -> list[tuple[str, str]]:
    """Each direct import ``a -> b`` in ``package`` where ``b`` leads back to ``a``."""
    found = []
    for module in sorted(graph.modules):
        if module != package and not module.startswith(package + "."):
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported.startswith(("app.", "nrms_core.")) and graph.chain_exists(imported, module):
                found.append((module, imported))
    return found


def test_only_the_launcher_imports_the_window(graph: grimp.ImportGraph) -> None:
    assert graph.find_modules_directly_imported_by(WINDOW)  # the graph was really built
    assert graph.find_modules_that_directly_import(WINDOW) == OPENS_THE_WINDOW


def test_no_import_cycle_among_the_ui_modules(graph: grimp.ImportGraph) -> None:
    assert cycles(graph, "app.ui") == []


def test_no_import_cycle_anywhere_in_the_app(graph: grimp.ImportGraph) -> None:
    assert cycles(graph, "app") == []
