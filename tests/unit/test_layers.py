"""The architecture, checked: imports point one way, pure rooms stay pure, each library has one home.

The layers (README, Development): ``cli → scheduler → app → sources | store | inputs | render |
publish | rules | dashboards → promql → figures → sla → sli → config → model, errors``.  A room
may import only rooms below it; the adapters beside each other do not import each other.  Imports
under ``if TYPE_CHECKING:`` are annotations only and are not counted.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kits.paths import ROOT

PACKAGE = ROOT / "slactl"

# Rank of each room: a module may import rooms of a lower rank only.
RANK: dict[str, int] = {
    "__main__": 100, "slactl": 100,  # entry points: `python -m slactl`, `slactl.open`
    "cli": 90, "api": 90,
    "scheduler": 80,
    "app": 70,
    "sources": 60, "store": 60, "inputs": 60, "render": 60, "publish": 60, "rules": 60, "dashboards": 60,
    "promql": 50,
    "figures": 40,
    "sla": 32,
    "sli": 31,
    "config": 45,  # data the adapters read; may use the pure rules (the objective), never the reverse
    "runtime": 10, "money": 10, "durations": 10, "redact": 10,
    "model": 5, "errors": 5,
}
PURE = {"sli", "sla", "figures"}
# What a pure room may import besides lower pure rooms.
PURE_MAY_USE = {"slactl.model", "slactl.errors", "slactl.money", "slactl.durations"}
# Standard-library modules that do I/O or read the clock: not in a pure room.
IMPURE_STDLIB = {"os", "io", "pathlib", "socket", "subprocess", "shutil", "tempfile", "time", "urllib",
                 "http", "sqlite3", "logging", "threading", "multiprocessing", "concurrent", "asyncio"}
# Each third-party library's home: the path prefixes (below slactl/) that may import it.
HOMES: dict[str, tuple[str, ...]] = {
    "typer": ("cli/",),
    "rich": ("cli/",),
    "apscheduler": ("scheduler/",),
    "prometheus_client": ("scheduler/metrics.py",),
    "jinja2": ("render/",),
    "markupsafe": ("render/",),
    "markdown_it": ("render/",),
    "weasyprint": ("render/pdf.py",),
    "grafanalib": ("dashboards/",),
    "attr": ("dashboards/",),
    "boto3": ("sources/cloudwatch/", "publish/s3.py"),
    "botocore": ("sources/cloudwatch/", "publish/s3.py"),
    "httpx": ("sources/prometheus/client.py", "publish/"),
    "httpcore": ("runtime.py",),
    "sqlalchemy": ("store/",),
    "alembic": ("store/",),
    "pandas": ("app/export.py", "app/export_files.py"),
    "pyarrow": ("app/export_files.py",),
    "prometheus_api_client": ("sources/prometheus/discovery.py",),
    "requests": ("sources/prometheus/discovery.py",),
    "babel": ("money.py",),
    "pydantic": ("config/", "inputs/"),
    "pydantic_core": ("config/",),
    "annotated_types": ("config/",),
    "promql_parser": ("config/", "rules/", "sources/prometheus/"),
    "msgspec": ("sources/prometheus/", "render/jsonout.py"),
}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[:2] == ("store", "migrations"):
            continue  # Alembic's scripts, run by Alembic
        yield str(rel), path


def _room(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "slactl"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import outside ``if TYPE_CHECKING:`` blocks, function-level ones included."""
    if path not in _IMPORTS:
        _IMPORTS[path] = list(_read_imports(path))
    return _IMPORTS[path]


_IMPORTS: dict[Path, list[tuple[int, str]]] = {}


def _read_imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            if node.module == "slactl":  # `from slactl import money`
                for alias in node.names:
                    yield node.lineno, f"slactl.{alias.name}"


def _room_of(rel: str) -> str:
    first = rel.split("/")[0]
    return first[:-3] if first.endswith(".py") else first


def test_every_room_has_a_rank():
    rooms = {_room_of(rel) for rel, _ in _modules()} - {"__init__"}
    assert rooms <= set(RANK), f"rooms without a place in the layers: {sorted(rooms - set(RANK))}"


def test_imports_point_down():
    wrong = []
    for rel, path in _modules():
        src = _room_of(rel)
        src = "slactl" if src == "__init__" else src
        for line, mod in _imports(path):
            if not mod.startswith("slactl.") or mod == "slactl":
                continue
            dst = _room(mod)
            if dst != src and RANK.get(dst, 0) >= RANK[src]:
                wrong.append(f"slactl/{rel}:{line} ({src}) imports {mod} ({dst})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_pure_rooms_do_no_io():
    wrong = []
    for rel, path in _modules():
        src = _room_of(rel)
        if src not in PURE:
            continue
        for line, mod in _imports(path):
            top = mod.split(".")[0]
            if mod.startswith("slactl."):
                if _room(mod) not in PURE and mod not in PURE_MAY_USE:
                    wrong.append(f"slactl/{rel}:{line} imports {mod}")
            elif top in IMPURE_STDLIB:
                wrong.append(f"slactl/{rel}:{line} imports {mod}")
        text = path.read_text()
        for clock in ("datetime.now(", "date.today(", ".utcnow(", "open("):
            if clock in text:
                wrong.append(f"slactl/{rel} calls {clock}")
    assert not wrong, "pure rooms must not do I/O or read the clock:\n" + "\n".join(wrong)


@pytest.mark.parametrize("library", sorted(HOMES))
def test_each_library_lives_in_one_place(library):
    homes = HOMES[library]
    wrong = [
        f"slactl/{rel}:{line}"
        for rel, path in _modules()
        for line, mod in _imports(path)
        if mod.split(".")[0] == library and not rel.startswith(homes)
    ]
    assert not wrong, f"{library} is imported outside {homes}: {wrong}"


def test_no_unlisted_third_party_library():
    known = set(HOMES) | {"numpy", "yaml", "tzdata", "sniffio"}
    seen = {
        mod.split(".")[0]
        for _, path in _modules()
        for _, mod in _imports(path)
        if mod.split(".")[0] not in sys.stdlib_module_names and not mod.startswith(("slactl", "__future__"))
    }
    assert seen <= known, f"give these libraries a home in HOMES: {sorted(seen - known)}"
