"""Every third-party import is declared in pyproject.toml, where a user's install gets it:
the package's own imports in `dependencies` (or in the extra of the optional
part that uses them), the tests' in the `test` extra."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from cdp_platform.settings import PROJECT_ROOT

# Optional parts of the package and the extra that brings what they import.
OPTIONAL = {
    "cdp_platform/identity/spark_engine.py": "spark",
}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    extras = {
        extra: {_name(r) for r in requirements}
        for extra, requirements in project["optional-dependencies"].items()
    }
    return {_name(r) for r in project["dependencies"]}, extras


def _optional_nodes(tree: ast.AST) -> set[ast.AST]:
    """Imports inside `try: ... except ImportError`: the code does without them."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            for h in node.handlers
        ):
            for statement in node.body:
                found.update(ast.walk(statement))
    return found


def _imports(path: Path) -> set[str]:
    modules = set()
    tree = ast.parse(path.read_text(), filename=str(path))
    optional = _optional_nodes(tree)
    for node in ast.walk(tree):
        if node in optional:
            continue
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return {
        m
        for m in modules
        if m not in sys.stdlib_module_names
        and m not in ("cdp_platform", "cdp_platform_tests", "benchmarks")
    }


def _undeclared(folder: str, allowed: set[str], extras: dict[str, set[str]]) -> list[str]:
    distributions = packages_distributions()
    problems = []
    for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
        relative = path.relative_to(PROJECT_ROOT).as_posix()
        extra = next((e for prefix, e in OPTIONAL.items() if relative.startswith(prefix)), None)
        accepted = allowed | (extras[extra] if extra else set())
        for module in sorted(_imports(path)):
            names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
            if not names & accepted:
                problems.append(f"{relative}: imports {module} ({', '.join(sorted(names))})")
    return problems


def test_every_import_of_the_package_is_declared_where_a_user_install_gets_it():
    core, extras = _declared()
    assert _undeclared("cdp_platform", core, extras) == []


def test_every_import_of_the_benchmarks_is_declared_in_the_bench_extra():
    core, extras = _declared()
    assert _undeclared("benchmarks", core | extras["bench"], extras) == []


def test_every_import_of_the_tests_is_declared_in_the_test_extra():
    core, extras = _declared()
    assert _undeclared("cdp_platform_tests", core | extras["test"], extras) == []
