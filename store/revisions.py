"""The schema revisions this code knows, and the verdict on a database's: SQLAlchemy-free, so a
reader that opens the store without it (`store.file_reader`) refuses the same schemas, in the
same words, as the store (`store.migrate.check_schema`)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from domain.errors import Unavailable

UPGRADE_COMMAND: Final = "concord db upgrade"
VERSIONS: Final = Path(__file__).parent / "migrations" / "versions"


def head_revision() -> str:
    """The schema revision this code needs: the last of its migrations, which run in one line
    (0001, 0002, ...), each file named by its revision."""
    return max(revisions())


def revisions() -> list[str]:
    """Every schema revision this code knows, oldest first."""
    return sorted(path.name.split("_", 1)[0] for path in VERSIONS.glob("[0-9]*_*.py"))


def check_revision(current: str | None, where: str) -> None:
    """Raise Unavailable unless `current`, the revision of the database at `where` (None: never
    migrated), is exactly the revision this code needs."""
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise Unavailable(f"the event store at {where} has no schema yet: run `{UPGRADE_COMMAND}`")
    if current in revisions():
        raise Unavailable(
            f"the event store at {where} is at schema revision {current}, older than this "
            f"code's {head}: run `{UPGRADE_COMMAND}`"
        )
    raise Unavailable(
        f"the event store at {where} is at schema revision {current}, unknown to this code "
        f"(which needs {head}): it was migrated by a newer Concord"
    )
