"""Dependencies point inward: each layer imports only what the rule table allows (the floors
and capabilities themselves are import contracts in pyproject.toml, decisions 030 and 055).

Every module under src/trapline is parsed (not imported) and every import in it counts, those
inside functions and under ``TYPE_CHECKING`` too: a lazy import is still a dependency. The
worker's own boundary (it loads nothing of the platform) is
tests/integration/worker/test_isolation.py. And no module grows past ``LONGEST`` lines.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src"


class Rule(NamedTuple):
    """Modules under ``layer`` import nothing under ``forbidden`` except what is under ``but``."""

    layer: str
    forbidden: str
    but: str | None = None


RULES = [
    # The domain is pure: records and rules, nothing of ours around it (not even errors).
    Rule("trapline.domain", forbidden="trapline", but="trapline.domain"),
    # Routes parse, call one service and shape the answer: the database is the services' job.
    Rule("trapline.api.routes", forbidden="trapline.db"),
    # Pages call the same services as the API: never the database.
    Rule("trapline.web", forbidden="trapline.db"),
    # Services are called by the API, the CLI and the duties alike; they know none of them.
    Rule("trapline.services", forbidden="trapline.api"),
    # The processing service's logic knows no HTTP: service_http serves it.
    Rule("trapline.worker.service", forbidden="http"),
]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, name) of everything the module imports; ``from a import b`` gives a and a.b."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


MODULES = {_module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.layer)
def test_layers_import_only_inward(rule: Rule) -> None:
    covered = [name for name in MODULES if _under(name, rule.layer)]
    assert covered, f"no module under {rule.layer}: the rule checks nothing"
    broken = [
        f"{name}:{line} imports {imported}"
        for name in covered
        for line, imported in _imports(MODULES[name])
        if _under(imported, rule.forbidden) and not (rule.but and _under(imported, rule.but))
    ]
    assert not broken, "\n".join(broken)


#: The most lines a module may have: a longer one does more than one thing. Migrations are
#: history, kept as they were written.
LONGEST = 450


def test_no_module_is_longer_than_the_house_allows() -> None:
    lengths = {
        name: len(path.read_text().splitlines())
        for name, path in MODULES.items()
        if ".migrations.versions." not in name
    }
    assert len(lengths) > 100, "the modules were not found"
    assert {name: n for name, n in lengths.items() if n > LONGEST} == {}
