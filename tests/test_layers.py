"""The layers of DESIGN.md section 5: no module imports a higher layer, no import cycles.

Every ``import`` in every module is parsed, including those inside functions
(docstring examples are not code and are ignored).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ecgsk"

# first matching prefix wins
LAYERS = [
    ("ecgsk.leads", 1), ("ecgsk.utils", 1), ("ecgsk.exceptions", 1),
    ("ecgsk.metrics", 2), ("ecgsk.io", 2), ("ecgsk.datasets", 2), ("ecgsk.plotting", 2),
    ("ecgsk.base", 3),
    ("ecgsk.preprocessing", 4), ("ecgsk.pipeline", 4), ("ecgsk.nn", 4), ("ecgsk.evaluation", 4),
    ("ecgsk.models", 5),
    ("ecgsk.registry", 6), ("ecgsk.testing", 6),
    ("ecgsk.generation", 7), ("ecgsk.cli", 7), ("ecgsk", 7),
]
NO_TORCH = ("ecgsk.leads", "ecgsk.utils", "ecgsk.exceptions", "ecgsk.metrics", "ecgsk.io", "ecgsk.datasets",
            "ecgsk.plotting", "ecgsk.base", "ecgsk.preprocessing", "ecgsk.evaluation")


def layer(module):
    for prefix, number in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return number
    raise AssertionError(f"{module} is in no layer of DESIGN.md section 5")


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path):
    """Absolute names of the ecgsk modules (and torch) a file imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.add(target)
            # "from . import io" imports the submodule ecgsk.io
            for alias in node.names:
                found.add(f"{target}.{alias.name}")
    return {m for m in found if m == "torch" or m.startswith("torch.") or m == "ecgsk" or m.startswith("ecgsk.")}


def existing(module):
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


FILES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: module_name(p))
def test_no_upward_import(path):
    name = module_name(path)
    for target in imports(path):
        if target.startswith("torch"):
            assert not name.startswith(NO_TORCH), f"{name} imports torch ({target}); its layer must stay torch-free"
            continue
        if not existing(target) or target == "ecgsk":
            continue  # a name imported from a module, not a module
        assert layer(target) <= layer(name), f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)})"


def test_no_import_cycles():
    graph = {}
    for path in FILES:
        name = module_name(path)
        graph[name] = {t for t in imports(path) if not t.startswith("torch") and existing(t) and t != name
                       and t != "ecgsk" and not name.startswith(t + ".")}
    state, cycles = {}, []

    def visit(node, trail):
        state[node] = "open"
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert len(state) == len(graph) > 20  # every module was visited, not an empty graph
    assert cycles == [], "import cycles: " + "; ".join(cycles)


def test_models_do_not_import_faces():
    for path in FILES:
        name = module_name(path)
        if name.startswith("ecgsk.models"):
            bad = {t for t in imports(path) if t.startswith(("ecgsk.cli", "ecgsk.generation", "ecgsk.plotting"))}
            assert not bad, f"{name} imports {bad}"
        if name in ("ecgsk.registry", "ecgsk.generation"):
            bad = {t for t in imports(path) if t.startswith("ecgsk.models")}
            assert not bad, f"{name} names model modules {bad}"
