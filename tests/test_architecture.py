"""The layout's rules, checked on the source: pure packages import no I/O library, each package
imports only the layers below it, and no module imports itself back through others (no cycles).

Imports under ``if TYPE_CHECKING:`` are annotations only and do not count.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "bot"
IO_LIBRARIES = {"aiohttp", "sqlalchemy", "alembic", "asyncpg", "aiosqlite", "slack_sdk",
                "slack_bolt", "discord", "asyncio", "apscheduler", "yarl"}
PURE = ("domain", "text", "pipeline")
# package -> the bot packages it may import (besides itself); "bot" is the root (__version__)
MAY_IMPORT = {
    "domain": {"text"},  # name_key folds names as the matcher does (bot/text/fold.py)
    "text": set(),
    "pipeline": {"domain", "text"},
    "render": {"domain", "text"},
    "net": {"domain", "bot"},
    "config": {"domain", "text", "storage", "bot"},
    "storage": {"domain", "config"},
    "delivery": {"domain", "text", "render", "net", "config"},
    "jobs": {"domain", "text", "pipeline", "net", "storage", "delivery", "config"},
    "chat": {"domain", "text", "pipeline", "render", "net", "storage", "jobs", "config"},
    "adapters": {"domain", "text", "render", "chat", "config"},
    "web": {"domain", "storage", "jobs", "delivery", "config", "web"},
}


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = ("bot", *path.relative_to(ROOT).with_suffix("").parts)
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports(path: Path) -> set[str]:
    """Every module name an import statement in ``path`` names, at any depth, except under
    ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = dict(modules())
GRAPH = {name: {m for m in imports(path) if m in MODULES and m != name
                and not name.startswith(m + ".")}  # a package's own __init__ is not a cycle
         for name, path in MODULES.items()}


def resolve(name: str) -> str | None:
    """The module an imported name lives in (``bot.app.App`` -> ``bot.app``), if ours."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def package(module: str) -> str:
    """``bot.pipeline.parse`` -> ``pipeline``, ``bot.app`` -> ``app``, ``bot`` -> ``bot``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "bot"


@pytest.mark.parametrize("name", [n for n in MODULES if package(n) in PURE])
def test_pure_packages_import_no_io_library(name: str) -> None:
    used = {m.split(".")[0] for m in imports(MODULES[name])}
    assert not used & IO_LIBRARIES, f"{name} imports {sorted(used & IO_LIBRARIES)}"


@pytest.mark.parametrize("name", [n for n in MODULES if package(n) in MAY_IMPORT])
def test_each_package_imports_only_the_layers_below_it(name: str) -> None:
    own = package(name)
    reached = {package(m) for m in filter(None, map(resolve, imports(MODULES[name])))}
    assert reached - {own} <= MAY_IMPORT[own], f"{name} reaches {sorted(reached - {own})}"


def test_storage_is_reached_through_its_package_not_its_sql() -> None:
    # bot/web/queries.py (the status page's read-only SQL) is the one exception still to move
    # behind a port (bot/storage/ports.py)
    offenders = sorted(n for n, deps in GRAPH.items()
                       if package(n) not in ("storage", "cli") and n != "bot.web.queries"
                       and any(d.startswith("bot.storage.sql") for d in deps))
    assert offenders == []


def test_only_the_command_line_imports_the_composition_root() -> None:
    offenders = [n for n, deps in GRAPH.items() if {"bot.app", "bot.cli"} & deps
                 and package(n) != "cli" and n not in ("bot.__main__", "bot.cli")]
    assert offenders == []


def test_no_import_cycles() -> None:
    cycles = []
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(GRAPH):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_the_checks_see_the_whole_tree() -> None:  # a rule over no modules proves nothing
    assert {"bot.pipeline.parse", "bot.app", "bot.storage.sql.outbox"} <= MODULES.keys()
    assert "bot.domain.article" in GRAPH["bot.pipeline.keys"]


PACKAGES = sorted(n for n, p in MODULES.items() if p.name == "__init__.py")


@pytest.mark.parametrize("name", PACKAGES)
def test_every_package_imports_first_in_a_fresh_interpreter(name: str) -> None:
    """A package's ``__init__`` exports its public names; that must not close an import cycle,
    whichever package a program (or a parse worker) imports first."""
    done = subprocess.run([sys.executable, "-c", f"import {name}; print({name}.__doc__ or '')"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout.strip().splitlines()) >= 2, f"{name}: say in two lines what lives here"


@pytest.mark.parametrize("name", PACKAGES)
def test_no_export_hides_a_module_of_its_package(name: str) -> None:
    """``from bot.pipeline import route`` must give the module: an exported function of the same
    name would replace the package attribute (and break ``mock.patch("bot.pipeline.route.x")``)."""
    exported = set()
    for node in ast.parse(MODULES[name].read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            exported.update(alias.asname or alias.name for alias in node.names)
    submodules = {m.rpartition(".")[2] for m in MODULES if m.rpartition(".")[0] == name}
    assert not exported & submodules
