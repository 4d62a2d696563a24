"""The package's import rules (docs/architecture.md): layers without cycles, a library that never
imports the CLI, Typer or rich. Function-local imports count as much as top-level ones."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cwtmae_cli"

# What each top-level part may import (besides itself). Mirrors docs/architecture.md.
ALLOWED: dict[str, set[str]] = {
    "__init__": set(),
    "errors": set(),
    "wording": set(),
    "workdir": {"errors"},
    "metrics": {"errors"},
    "model": {"errors"},
    "data": {"__init__", "errors", "wording"},
    "runtime": {"__init__", "errors", "wording", "model", "workdir"},
    "train": {"__init__", "errors", "wording", "workdir", "model", "data", "runtime", "metrics"},
    "evaluate": {"__init__", "errors", "wording", "workdir", "model", "data", "runtime", "metrics"},
    "benchmark": {"__init__", "errors", "wording", "workdir", "model", "data", "runtime", "metrics",
                  "train", "evaluate"},
    "demo": {"errors", "wording", "workdir", "data", "runtime", "train", "evaluate"},
    "cli": {"__init__", "errors", "wording", "workdir", "data", "runtime", "metrics", "train",
            "evaluate", "benchmark", "demo"},
    "__main__": {"cli"},
}
UI_LIBRARIES = ("typer", "rich", "click")


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every absolute module name ``path`` imports, at any depth (relative imports resolved)."""
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def part_of(name: str) -> str:
    """``cwtmae_cli.data.store`` -> ``data``; ``cwtmae_cli`` -> ``__init__``."""
    pieces = name.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the project modules it imports (names that are modules, not attributes)."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    return {m: {n for n in imports_of(p, root) if n in files and n != m} for m, p in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in sorted(graph.items()):
        source = part_of(module)
        for target in sorted(targets):
            dest = part_of(target)
            if dest != source and dest not in ALLOWED.get(source, set()):
                bad.append(f"{module} imports {target} ({source} may not import {dest})")
    return bad


def test_every_part_of_the_package_has_a_rule():
    parts = {part_of(m) for m in import_graph()}
    assert parts <= set(ALLOWED), f"add a rule for {sorted(parts - set(ALLOWED))}"


def test_imports_follow_the_layers():
    assert layer_violations(import_graph()) == []


def test_no_import_cycles_between_or_inside_packages():
    graph = import_graph()
    assert cycles(graph) == [], "module cycles"
    parts: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        parts[part_of(module)].update(part_of(t) for t in targets if part_of(t) != part_of(module))
    assert cycles(dict(parts)) == [], "package cycles"


def test_the_library_never_imports_the_command_line_libraries():
    offenders = [
        f"{module_name(p)} imports {name}"
        for p in PACKAGE.rglob("*.py")
        if part_of(module_name(p)) not in ("cli", "__main__")
        for name in sorted(imports_of(p))
        if name.split(".")[0] in UI_LIBRARIES
    ]
    assert offenders == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "cwtmae_cli"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # a cycle between two packages, hidden in function-local imports
            {
                "__init__.py": "",
                "train/__init__.py": "",
                "train/fit.py": "def f():\n    from cwtmae_cli.evaluate import scores\n",
                "evaluate/__init__.py": "",
                "evaluate/scores.py": "def g():\n    from cwtmae_cli.train import fit\n",
            },
            "cycle",
        ),
        (  # the library reaching up into the CLI
            {
                "__init__.py": "",
                "cli/__init__.py": "",
                "cli/app.py": "",
                "data/__init__.py": "",
                "data/reader.py": "from cwtmae_cli.cli import app\n",
            },
            "layer",
        ),
        (  # a relative import inside one package closing a module cycle
            {
                "__init__.py": "",
                "data/__init__.py": "",
                "data/store.py": "from .writer import w\n",
                "data/writer.py": "from cwtmae_cli.data.store import s\n",
            },
            "cycle",
        ),
    ],
)
def test_the_rules_catch_what_they_forbid(tmp_path, files, expected):
    graph = import_graph(_tree(tmp_path, files))
    if expected == "layer":
        assert any("data may not import cli" in v for v in layer_violations(graph))
    else:
        parts: dict[str, set[str]] = defaultdict(set)
        for module, targets in graph.items():
            parts[part_of(module)].update(part_of(t) for t in targets)
        assert cycles(graph) or cycles({k: v - {k} for k, v in parts.items()})


# Typer commands whose length is their option list (one Annotated parameter per option).
LONG_SIGNATURES = {"cwtmae_cli.cli.finetune.finetune", "cwtmae_cli.cli.benchmark.benchmark"}


def size_problems(root: Path = PACKAGE, max_module: int = 300, max_function: int = 50) -> list:
    problems = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > max_module:
            problems.append(f"{module_name(path, root)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            name = f"{module_name(path, root)}.{node.name}"
            first = node.body[0].lineno if name in LONG_SIGNATURES else node.lineno
            if node.end_lineno - first + 1 > max_function:
                problems.append(f"{name}: {node.end_lineno - first + 1} lines")
    return problems


def test_modules_and_functions_stay_short():
    assert size_problems() == []


def test_the_size_rule_catches_a_long_function(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(50))
    root = _tree(tmp_path, {"__init__.py": "", "m.py": f"def f():\n{body}"})
    assert size_problems(root) == ["cwtmae_cli.m.f: 51 lines"]
