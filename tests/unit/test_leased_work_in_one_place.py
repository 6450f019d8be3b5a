"""Leased background work is written once (decision 031): who holds a leased row, and whether
it is free, is judged in ``db/leased_rows.py`` only (in SQL, or on a row read: ``row.runner !=
holder``), a row's holder and time are written there only (``row.heartbeat_at = now``), and no
background module repeats another's code (a new kind of run is declared on the primitives,
not copied from a sibling).

Read from the source: a copy that behaves the same passes every other test.
"""

from __future__ import annotations

import ast
import itertools
from difflib import SequenceMatcher
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "trapline"
#: Tables whose rows background work leases, and the columns that say who holds one.
LEASED = {
    "ExportRow": {"runner", "heartbeat_at"},
    "RegroupingRow": {"runner", "heartbeat_at"},
    "RereadRow": {"runner", "heartbeat_at"},
    "PullSourceRow": {"lease_holder", "lease_expires_at"},
    "DutyLeaseRow": {"holder", "expires_at"},
}
#: Those columns as attributes of a row read (``row.runner``): every name above but
#: ``expires_at``, which other rows have too (an export's download, a session).
ROW_ATTRIBUTES = set().union(*LEASED.values()) - {"expires_at"}
#: The longest run of identical lines two background modules may share.
MOST_SHARED_LINES = 5


def _leased_column(node: ast.expr) -> bool:
    """``ExportRow.runner`` (a leased table's column), or ``row.runner`` (that of a row
    read; ``self.holder`` is the repository's own, ``TaskRow`` a worker's lease)."""
    if not isinstance(node, ast.Attribute):
        return False
    owner = node.value
    if isinstance(owner, ast.Name) and owner.id[:1].isupper():  # a table
        return node.attr in LEASED.get(owner.id, ())
    if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
        return False
    return node.attr in ROW_ATTRIBUTES


def lease_conditions(path: Path) -> list[str]:
    """Conditions on a leased row's holder or time in ``path`` (``Row.runner == x``,
    ``Row.heartbeat_at < t``, ``Row.lease_expires_at.is_(None)``, ``row.runner != holder``)
    and writes of them to a row read (``row.heartbeat_at = now``), as ``line: text``."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        operands: list[ast.expr] = []
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("is_", "is_not", "isnot")
        ):
            operands = [node.func.value]
        elif isinstance(node, ast.Assign):
            operands = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            operands = [node.target]
        if any(_leased_column(operand) for operand in operands):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


REPOSITORIES = SRC / "db" / "repositories"


@pytest.mark.parametrize(
    "path",
    sorted(REPOSITORIES.rglob("*.py")),
    ids=lambda p: str(p.relative_to(REPOSITORIES)),
)
def test_leased_rows_are_claimed_kept_and_released_in_one_place(path: Path) -> None:
    found = lease_conditions(path)
    assert not found, (
        f"{path.name} judges who holds a leased row itself; use db/leased_rows.py: {found}"
    )


def test_the_check_sees_such_conditions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "cond = (ExportRow.runner == holder) & RereadRow.heartbeat_at.is_(None)\n"
        "if row is None or row.status != 'running' or row.runner != holder:\n"
        "    row.heartbeat_at = now\n"
        "row.runner = None\n"
        "lease = DutyLeaseRow.holder == holder\n"
        "self.holder = holder\n"
        "kept = row.expires_at < now\n"
    )
    lines = sorted(int(line.split(":")[0]) for line in lease_conditions(sample))
    assert lines == [1, 1, 2, 3, 4, 5]


def _code_lines(path: Path) -> list[str]:
    """The module's lines that do something: no blanks, comments or imports."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith(("#", "from ", "import "))]


def test_no_background_module_copies_another() -> None:
    modules = {p.name: _code_lines(p) for p in sorted((SRC / "background").glob("*.py"))}
    copies = []
    for (a, lines_a), (b, lines_b) in itertools.combinations(modules.items(), 2):
        matcher = SequenceMatcher(None, lines_a, lines_b, autojunk=False)
        block = max(matcher.get_matching_blocks(), key=lambda m: m.size)
        if block.size > MOST_SHARED_LINES:
            copies.append(f"{a} and {b}: {lines_a[block.a : block.a + block.size]}")
    assert not copies, "background modules repeat each other's code:\n" + "\n".join(copies)
