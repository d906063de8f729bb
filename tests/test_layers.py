"""The package's layers run one way (the order is written in ``edsmaps/__init__.py``)."""

import ast
import re

import pytest
from conftest import REPO

PACKAGE = REPO / "workflow" / "scripts" / "edsmaps"


def layers():
    """{module: layer number} from the package docstring."""
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text()))
    found = {}
    for number, modules in re.findall(r"^(\d+)\. \w+: (.+)$", doc, flags=re.MULTILINE):
        for module in modules.split(", "):
            found[module.strip()] = int(number)
    return found


def package_imports(source):
    """(module, imported name or None) for every relative import, inside functions too."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                yield from ((node.module.split(".")[0], alias.name) for alias in node.names)
            else:
                yield from ((alias.name, None) for alias in node.names)


def problems(sources, layer_of):
    """Imports of a higher layer, of a private name, and import cycles, as messages."""
    found, graph = [], {}
    for module, source in sources.items():
        for target, name in package_imports(source):
            graph.setdefault(module, set()).add(target)
            if layer_of[target] > layer_of[module]:
                found.append(f"{module} (layer {layer_of[module]}) imports {target} (layer {layer_of[target]})")
            if name and name.startswith("_"):
                found.append(f"{module} imports the private {target}.{name}")

    def reaches(start, goal, seen):
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    found += [f"{module} is part of an import cycle" for module in graph if reaches(module, module, {module})]
    return found


def test_every_module_has_a_layer():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert set(layers()) == modules


def test_layers_run_one_way_without_cycles_or_private_imports():
    sources = {p.stem: p.read_text() for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert problems(sources, layers()) == []


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ({"low": "def f():\n    from .high import g\n", "high": ""}, "low (layer 1) imports high (layer 2)"),
        ({"high": "from .low import _private\n", "low": ""}, "high imports the private low._private"),
        ({"low": "", "high": "from . import high2\n", "high2": "def f():\n    from .high import x\n"},
         "high is part of an import cycle"),
    ],
)
def test_a_wrong_way_import_is_caught(sources, expected):
    assert expected in problems(sources, {"low": 1, "high": 2, "high2": 2})
