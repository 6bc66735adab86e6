"""The architecture is checked, not hoped for: import-linter's layer contracts (pyproject.toml),
no private names across modules, and figures, studies and benchmarks on the public API only."""

import ast
import functools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "dgnsim"
SCRIPTS = [p for d in ("figures", "studies", "benchmarks") for p in sorted((REPO / d).glob("*.py"))]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _private_members() -> dict[str, set[str]]:
    """Private names defined at module or class level in each module of dgnsim."""
    members = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _private(node.name):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name) and _private(t.id))
                names.update(
                    t.attr
                    for t in node.targets
                    if isinstance(t, ast.Attribute)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == "self"
                    and _private(t.attr)
                )
        members[_module_name(path)] = names
    return members


def _violations(path: Path, members: dict[str, set[str]]) -> list[str]:
    """Imports of another module's private names, and uses of another module's private members."""
    own = _module_name(path) if PACKAGE in path.parents else None
    foreign = set().union(*(names for module, names in members.items() if module != own))
    mine = members.get(own, set())
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dgnsim") and node.module != own:
            found += [f"line {node.lineno}: from {node.module} import {a.name}" for a in node.names if _private(a.name)]
        elif (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and node.attr in foreign
            and node.attr not in mine
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def test_import_linter_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is not installed (it is in the 'test' extra)"
    res = subprocess.run([lint, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:]
    assert "broken" not in res.stdout.split("Contracts:")[-1].split("\n")[0] or " 0 broken" in res.stdout


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")) + SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_private_names_across_modules(path):
    assert _violations(path, _private_members()) == []


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_figures_studies_and_benchmarks_do_not_import_the_cli(path):
    tree = ast.parse(path.read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert [m for m in imported if m == "dgnsim.cli" or m.startswith("dgnsim.cli.")] == []


def test_the_private_name_check_can_fail(tmp_path):
    bad = PACKAGE / "viz" / "_probe_for_test.py"
    try:
        bad.write_text("from dgnsim.brian.backend import _symlink\n")
        assert _violations(bad, _private_members()) == ["line 1: from dgnsim.brian.backend import _symlink"]
    finally:
        bad.unlink()
