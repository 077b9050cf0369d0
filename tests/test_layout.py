"""The layout shows the architecture, and stays that way: packages by concern, imports
pointing down only, no import circle, no Streamlit below the pages.

Every import counts, also the ones inside functions (a lazy import is still a
dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.config import PROJECT_DIR

# Lower layers never import higher ones; a package may import its own modules.
LAYERS: list[set[str]] = [
    {"core.config"},
    {"core.storage", "core.redis_link"},
    {"core.security", "core.tracing", "core.events", "agents"},
    {"core.engine"},
    {"core.conversations", "core.monitoring", "core.learning", "core.log_setup"},
    {"core.runtime"},
    {"core.cli"},
]


def modules() -> dict[str, Path]:
    found = {}
    for top in ("core", "agents"):
        for path in sorted((PROJECT_DIR / top).rglob("*.py")):
            parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules `path` imports (`from core.x import y` counts y when it is a
    module, else core.x)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if full in known else node.module)
    return {name for name in names if name in known}


def layer_of(module: str) -> int:
    for rank, layer in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in layer):
            return rank
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "core" else parts[0]


GRAPH = {name: imports_of(path, set(modules())) - {name} for name, path in modules().items()}


def test_core_is_grouped_into_packages() -> None:
    core = PROJECT_DIR / "core"
    flat = [p.name for p in core.glob("*.py") if p.name != "__init__.py"]
    packages = [p.name for p in core.iterdir() if (p / "__init__.py").exists()]
    assert len(flat) <= 8, flat
    assert len(packages) >= 4, packages


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down_only(module: str) -> None:
    upward = [target for target in GRAPH[module]
              if package_of(target) != package_of(module) and layer_of(target) > layer_of(module)]
    assert not upward, f"{module} imports {upward}, which sit above it"


def test_no_import_circle() -> None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                circle = path[path.index(target):] + [target] if target in path else [module, target]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])


def test_nothing_below_the_pages_imports_streamlit() -> None:
    offenders = [name for name, path in modules().items()
                 if any(n == "streamlit" or n.startswith("streamlit.")
                        for n in _all_imported_names(path))]
    assert not offenders


def _all_imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_walk_sees_a_circle(tmp_path) -> None:
    """The circle check itself works: a module importing its importer is found."""
    (tmp_path / "a.py").write_text("from core.runtime import Runtime\n")
    assert "core.runtime" in imports_of(tmp_path / "a.py", {"core.runtime"})
    assert layer_of("core.storage.models") < layer_of("core.engine.workflow")
