"""The import layers (ARCHITECTURE.md): each app imports only the apps below it.

    analytics                     (top; may import every app; optional until it exists)
    execution                     -> allocations, strategies, baskets, brokers, market
    allocations                   -> strategies, brokers, market
    strategies                    -> baskets, market
    brokers                       -> market
    baskets                       -> market
    market                        (bottom: imports no app)

Every import counts, including those inside functions (grimp reads the source, it does not run it). An app above
that needs to hear from one below registers a hook with it instead: strategies' `legs_changed` signal, the
feed's `register_quote_demand` / `register_after_cycle`, `market.instruments.register_instrument_source`,
baskets' `basket_deleting` signal, and the admin classes that execution and allocations extend.
"""

from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]

MAY_IMPORT = {
    "market": set(),
    "baskets": {"market"},
    "brokers": {"market"},
    "strategies": {"market", "baskets"},
    "allocations": {"strategies", "baskets", "brokers", "market"},
    "execution": {"allocations", "strategies", "baskets", "brokers", "market"},
    "analytics": {"execution", "allocations", "strategies", "baskets", "brokers", "market"},
}

# Known exceptions still to remove, each (importer module, imported module). Keep this list empty: an upward
# import is fixed by moving the code up (the basket pages live in analytics) or by a hook the higher app registers.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()

APPS = [app for app in MAY_IMPORT if (ROOT / app / "__init__.py").exists()]


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*APPS, cache_dir=None)


def cross_app_imports(graph, app):
    """(importer, imported, line numbers) for every import from a module of `app` into another project app."""
    found = []
    for module in sorted(graph.find_descendants(app) | {app}):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            other = imported.split(".")[0]
            if other != app:
                lines = sorted(d["line_number"] for d in graph.get_import_details(importer=module, imported=imported))
                found.append((module, imported, lines))
    return found


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_the_layers_below_it(graph, app):
    wrong = [
        f"{importer} line {', '.join(map(str, lines))} imports {imported}"
        for importer, imported, lines in cross_app_imports(graph, app)
        if imported.split(".")[0] not in MAY_IMPORT[app] and (importer, imported) not in KNOWN_EXCEPTIONS
    ]
    assert not wrong, f"{app} may import only {sorted(MAY_IMPORT[app]) or 'no app'}:\n" + "\n".join(wrong)


def test_the_known_exceptions_still_exist(graph):
    """An exception that was fixed must leave the list, so the list never hides a new import."""
    present = {(i, m) for app in APPS for i, m, _ in cross_app_imports(graph, app)}
    assert KNOWN_EXCEPTIONS <= present, sorted(KNOWN_EXCEPTIONS - present)


def test_the_rules_have_no_cycle():
    done, visiting = set(), set()

    def visit(app):
        assert app not in visiting, f"cycle through {app}"
        if app in done:
            return
        visiting.add(app)
        for below in MAY_IMPORT[app]:
            visit(below)
        visiting.discard(app)
        done.add(app)

    for app in MAY_IMPORT:
        visit(app)


def test_the_layer_test_sees_a_violation(tmp_path, monkeypatch):
    """The check can fail: a bottom-layer package importing one above it is reported."""
    for name, body in {"low": "import high.models\n", "high": ""}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
        (tmp_path / name / "models.py").write_text(body)
    (tmp_path / "low" / "models.py").write_text("def f():\n    from high import models\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = cross_app_imports(grimp.build_graph("low", "high", cache_dir=None), "low")
    assert [(importer, imported) for importer, imported, _ in found] == [("low.models", "high.models")]
