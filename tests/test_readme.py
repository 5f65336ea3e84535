"""README.md is a test: its Python blocks run as written, and its links stay inside the repository.

The blocks build on each other (the risk block uses the ``X`` and ``meta`` of
the first), so they run in order in one namespace, each as its own test, in a
temporary working directory.  A block fails the test when it raises.
"""

import ast
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.M | re.S)
# inline links [text](target) and reference definitions [name]: target
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\s*\[[^\]]+\]:\s*(\S+)", re.M)


def python_blocks(text):
    return [(text[: m.start()].count("\n") + 2, m.group(1)) for m in BLOCK.finditer(text)]


def assigned_names(code):
    """The names a block binds at its top level (assignments, imports, for targets)."""
    names = set()
    for node in ast.parse(code).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def links(text):
    return [a or b for a, b in LINK.findall(text)]


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))
_NAMESPACE = {"__name__": "__readme__"}


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 2, "README.md lost its Python examples"


@pytest.mark.parametrize("line, code", BLOCKS, ids=[f"line{line}" for line, _ in BLOCKS])
def test_readme_block_runs(line, code, tmp_path_factory):
    import sklearn

    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("readme"))
    try:
        with sklearn.config_context():  # the risk block turns on metadata routing; do not leak it
            exec(compile(code, f"README.md:{line}", "exec"), _NAMESPACE)
    finally:
        os.chdir(cwd)
    names = assigned_names(code)
    assert names, f"README.md:{line}: the block binds no names, so nothing shows that it ran"
    missing = sorted(n for n in names if n not in _NAMESPACE)
    assert not missing, f"README.md:{line}: the block ran but did not bind {missing}"
    arrays = {n: _NAMESPACE[n] for n in names if isinstance(_NAMESPACE[n], np.ndarray) and _NAMESPACE[n].dtype.kind == "f"}
    assert all(np.isfinite(a).all() for a in arrays.values()), f"README.md:{line}: non-finite results in {sorted(arrays)}"


def test_risk_block_builds_its_target():
    risk = next(code for _, code in BLOCKS if "CoxConditionalVAE" in code)
    assert "simulate_survival" in risk and re.search(r"^y\s*=", risk, re.M)


def test_link_extraction_finds_links():
    sample = "see [a](docs/a.md), [b](https://x.org) and\n[c]: ../outside.md\n"
    assert links(sample) == ["docs/a.md", "https://x.org", "../outside.md"]


def test_readme_links_resolve_inside_the_repository():
    found = links(README.read_text(encoding="utf-8"))
    assert found, "README.md has no links to check"
    for target in found:
        parts = urlsplit(target)
        if parts.scheme in ("http", "https", "mailto"):
            continue
        assert not parts.scheme and not parts.netloc, f"README link {target!r}: not a file in the repository"
        if not parts.path:  # a link to an anchor of the README itself
            continue
        path = (ROOT / unquote(parts.path)).resolve()
        assert path == ROOT or ROOT in path.parents, f"README link {target!r} points outside the repository"
        assert path.exists(), f"README link {target!r} does not resolve to a file in the repository"
