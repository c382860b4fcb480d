"""The dependency rules of the layout, checked by parsing imports so the picture cannot rot."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("provincial", "national", "macao", "hongkong")
SHARED_FOR_CONNECTORS = {"connectors", "connectors.errors", "connectors.http", "connectors.records"}
SHARED_FOR_SIMULATORS = SHARED_FOR_CONNECTORS | {"connectors.world", "connectors.simulation"}


def imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
    return found


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def ours(module: str) -> bool:
    return module.split(".")[0] in {"hub", "connectors", "bench", "tests"}


@pytest.mark.parametrize("path", files("connectors"), ids=lambda p: str(p.relative_to(ROOT)))
def test_connectors_never_import_the_hub(path: Path) -> None:
    assert not any(m == "hub" or m.startswith("hub.") for m in imports(path))


@pytest.mark.parametrize(
    "path",
    [p for s in SOURCES for p in files(f"connectors/{s}")],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_a_source_package_imports_only_itself_and_the_shared_modules(path: Path) -> None:
    own = ".".join(path.relative_to(ROOT).parts[:2])
    allowed = SHARED_FOR_SIMULATORS if path.name == "simulator.py" else SHARED_FOR_CONNECTORS
    foreign = {
        m
        for m in imports(path)
        if ours(m) and not (m == own or m.startswith(own + ".")) and m not in allowed
    }
    assert not foreign, f"{path.name} imports {sorted(foreign)}"


@pytest.mark.parametrize("source", SOURCES)
def test_a_source_package_root_does_not_pull_in_its_simulator(source: str) -> None:
    init = ROOT / "connectors" / source / "__init__.py"
    assert not any(m.endswith("simulator") or m == "connectors.world" for m in imports(init))


@pytest.mark.parametrize("path", files("hub/domain"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_is_pure_standard_library(path: Path) -> None:
    outside = {
        m
        for m in imports(path)
        if m.split(".")[0] not in sys.stdlib_module_names
        and not (m == "hub.domain" or m.startswith("hub.domain.") or m == "__future__")
    }
    assert not outside, f"{path.name} imports {sorted(outside)}"


@pytest.mark.parametrize("path", files("hub/domain"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_never_reads_the_clock(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for forbidden in ("datetime.now(", "date.today(", "time.time(", "utcnow("):
        assert forbidden not in text, f"{path.name} reads the clock ({forbidden})"


CLIENT_PACKAGES = {f"connectors.{source}" for source in SOURCES}
TOOLS = {"hub/demo.py", "hub/conformance.py", "hub/cli.py"}  # commands, not the serving path


def imports_any(path: Path, prefixes: set[str]) -> set[str]:
    return {m for m in imports(path) if any(m == p or m.startswith(p + ".") for p in prefixes)}


@pytest.mark.parametrize("path", files("hub"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_serving_path_never_imports_a_simulator_or_the_world(path: Path) -> None:
    if str(path.relative_to(ROOT)) in TOOLS:
        return
    found = imports_any(path, {"connectors.sandbox", "connectors.world", "connectors.simulation"})
    found |= {m for m in imports(path) if m.endswith(".simulator")}
    assert not found, f"{path.name} imports {sorted(found)}"


@pytest.mark.parametrize("path", files("hub"), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_sources_module_builds_connector_clients(path: Path) -> None:
    relative = str(path.relative_to(ROOT))
    if relative in TOOLS or relative == "hub/sources.py":
        return
    assert not imports_any(path, CLIENT_PACKAGES), f"{path.name} imports a connector package"


@pytest.mark.parametrize("path", files("hub/schema"), ids=lambda p: str(p.relative_to(ROOT)))
def test_resolvers_never_talk_http_or_sql(path: Path) -> None:
    found = imports_any(path, {"aiohttp", "sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite"})
    assert not found, f"{path.name} imports {sorted(found)}"
