"""identifications and occurrences: a person's rejection of an occurrence

An identification names a taxon or, now, rejects the occurrence ("not an insect", "not an
animal", "nothing there"): ``identifications.taxon_id`` may be null, and ``rejected`` says
which rejection it is (exactly one of the two is set). An occurrence whose determination is
a rejection says so in ``occurrences.rejected`` and counts nowhere.

On SQLite the identifications table is rebuilt to make its taxon nullable; its
AUTOINCREMENT and the highest id it gave are kept, so an id once given is never given again
(``agreed_with`` names identifications by id).

Revision ID: 0046
Revises: 0043
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0046"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = "(taxon_id IS NULL) <> (rejected IS NULL)"


def upgrade() -> None:
    op.add_column("occurrences", sa.Column("rejected", sa.String(32), nullable=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    highest = _sequence() if sqlite else None
    with op.batch_alter_table(
        "identifications", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.add_column(sa.Column("rejected", sa.String(32), nullable=True))
        batch.alter_column("taxon_id", existing_type=_id(), nullable=True)
        batch.create_check_constraint(op.f("ck_identifications_taxon_or_rejected"), _CHECK)
    if highest is not None:
        op.execute(
            sa.text(
                "UPDATE sqlite_sequence SET seq = MAX(seq, :highest) WHERE name = 'identifications'"
            ).bindparams(highest=highest)
        )


def downgrade() -> None:
    # Rejections name no taxon: they go, as the older schema cannot hold them.
    op.execute("DELETE FROM identifications WHERE taxon_id IS NULL")
    with op.batch_alter_table(
        "identifications", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.drop_constraint(op.f("ck_identifications_taxon_or_rejected"), type_="check")
        batch.alter_column("taxon_id", existing_type=_id(), nullable=False)
        batch.drop_column("rejected")
    op.execute("ALTER TABLE occurrences DROP COLUMN rejected")


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _sequence() -> int | None:
    """The highest id SQLite's AUTOINCREMENT gave identifications (None: none yet)."""
    found = (
        op.get_bind()
        .execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'identifications'"))
        .scalar()
    )
    return int(found) if found is not None else None
