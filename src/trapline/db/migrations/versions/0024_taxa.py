"""taxa: taxa lists and their taxa, projects' lists, label mappings, identifications

Occurrences gain the taxon their determination names, who identified them and whether people
disagree; occurrence tallies gain the taxon and the detections counted, so that the species
view reads tallies only. Projects gain a licence and contacts for publishing.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_NAME_KEY = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")
_LINEAGE = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "taxa_lists",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_project_id", _ID, nullable=True),
        sa.Column("taxon_count", _ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("taxa_lists", "owner_project_id", "projects", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_taxa_lists"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_taxa_lists_owner_project_id", "taxa_lists", ["owner_project_id"])
    op.create_table(
        "project_taxa_lists",
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("list_id", _ID, nullable=False),
        _fk("project_taxa_lists", "project_id", "projects", "CASCADE"),
        _fk("project_taxa_lists", "list_id", "taxa_lists", "CASCADE"),
        sa.PrimaryKeyConstraint("project_id", name="pk_project_taxa_lists"),
    )
    op.create_index("ix_project_taxa_lists_list_id", "project_taxa_lists", ["list_id"])
    op.create_table(
        "taxa",
        sa.Column("id", _ID, nullable=False),
        sa.Column("list_id", _ID, nullable=False),
        sa.Column("scientific_name", sa.String(255), nullable=False),
        sa.Column("name_key", sa.String(255), nullable=False),
        sa.Column("rank", sa.String(16), nullable=False),
        sa.Column("rank_level", sa.SmallInteger(), nullable=False),
        sa.Column("parent_id", _ID, nullable=True),
        sa.Column("lineage", _LINEAGE, nullable=False),
        sa.Column("gbif_key", sa.BigInteger(), nullable=True),
        sa.Column("lsid", sa.String(255), nullable=True),
        sa.Column("source_id", sa.String(255), nullable=True),
        sa.Column("vernacular", sa.JSON(), nullable=False),
        _fk("taxa", "list_id", "taxa_lists", "CASCADE"),
        _fk("taxa", "parent_id", "taxa", "SET NULL"),
        sa.UniqueConstraint("list_id", "name_key", "rank", name="uq_taxa_list_name_rank"),
        sa.PrimaryKeyConstraint("id", name="pk_taxa"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_taxa_parent", "taxa", ["parent_id"])
    op.create_index("ix_taxa_lineage", "taxa", ["list_id", "lineage"])
    op.create_table(
        "taxon_names",
        sa.Column("id", _ID, nullable=False),
        sa.Column("list_id", _ID, nullable=False),
        sa.Column("taxon_id", _ID, nullable=False),
        sa.Column("name_key", _NAME_KEY, nullable=False),
        _fk("taxon_names", "taxon_id", "taxa", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_taxon_names"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_taxon_names_taxon_id", "taxon_names", ["taxon_id"])
    op.create_index("ix_taxon_names_search", "taxon_names", ["list_id", "name_key"])
    op.create_table(
        "label_mappings",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("taxon_id", _ID, nullable=True),
        sa.Column("set_by", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'taxon' AND taxon_id IS NOT NULL) OR (kind = 'non_object' AND taxon_id "
            "IS NULL)",
            name="ck_label_mappings_kind",
        ),
        _fk("label_mappings", "project_id", "projects", "CASCADE"),
        _fk("label_mappings", "taxon_id", "taxa", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["set_by"], ["users.id"], name="fk_label_mappings_set_by_users", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("project_id", "label", name="uq_label_mappings_project_label"),
        sa.PrimaryKeyConstraint("id", name="pk_label_mappings"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "identifications",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("occurrence_id", _ID, nullable=True),
        sa.Column("annotation_id", _ID, nullable=False),
        sa.Column("taxon_id", _ID, nullable=False),
        sa.Column("agreed_with", sa.String(32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("user_id", _ID, nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("identifications", "project_id", "projects", "CASCADE"),
        _fk("identifications", "occurrence_id", "occurrences", "SET NULL"),
        _fk("identifications", "annotation_id", "annotations", "CASCADE"),
        _fk("identifications", "taxon_id", "taxa", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_identifications_user_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_identifications"),
        sqlite_autoincrement=True,
    )
    for column in ("project_id", "occurrence_id", "annotation_id", "taxon_id"):
        op.create_index(f"ix_identifications_{column}", "identifications", [column])

    # No reference to taxa: taxa are never deleted one by one, and adding one in place is
    # beyond SQLite (it would rebuild the table).
    op.add_column("occurrences", sa.Column("taxon_id", _ID, nullable=True))
    op.add_column("occurrences", sa.Column("identified_by", sa.String(255), nullable=True))
    op.add_column(
        "occurrences",
        sa.Column("disputed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_occurrences_project_taxon", "occurrences", ["project_id", "taxon_id", "score"]
    )
    op.create_index(
        "ix_occurrences_project_taxon_seen",
        "occurrences",
        ["project_id", "taxon_id", "first_seen_at"],
    )
    op.add_column("occurrence_tallies", sa.Column("taxon_id", _ID, nullable=True))
    op.add_column(
        "occurrence_tallies",
        sa.Column("detections", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index(
        "ix_occurrence_tallies_project_taxon", "occurrence_tallies", ["project_id", "taxon_id"]
    )
    op.add_column(
        "projects", sa.Column("licence", sa.String(255), nullable=False, server_default="")
    )
    op.add_column("projects", sa.Column("contacts", sa.JSON(), nullable=False, server_default="[]"))
    # Tallies made before count their detections now.
    op.execute(
        "UPDATE occurrence_tallies SET detections = ("
        "SELECT coalesce(sum(o.detection_count), 0) FROM occurrences o "
        "WHERE o.event_id = occurrence_tallies.event_id "
        "AND (o.label = occurrence_tallies.label OR "
        "(o.label IS NULL AND occurrence_tallies.label IS NULL)))"
    )


def downgrade() -> None:
    # Both databases drop a column in place (SQLite since 3.35): no table rebuild.
    op.execute("ALTER TABLE projects DROP COLUMN contacts")
    op.execute("ALTER TABLE projects DROP COLUMN licence")
    op.drop_index("ix_occurrence_tallies_project_taxon", table_name="occurrence_tallies")
    op.execute("ALTER TABLE occurrence_tallies DROP COLUMN detections")
    op.execute("ALTER TABLE occurrence_tallies DROP COLUMN taxon_id")
    op.drop_index("ix_occurrences_project_taxon_seen", table_name="occurrences")
    op.drop_index("ix_occurrences_project_taxon", table_name="occurrences")
    op.execute("ALTER TABLE occurrences DROP COLUMN disputed")
    op.execute("ALTER TABLE occurrences DROP COLUMN identified_by")
    op.execute("ALTER TABLE occurrences DROP COLUMN taxon_id")
    op.drop_table("identifications")
    op.drop_table("label_mappings")
    op.drop_table("taxon_names")
    op.drop_table("taxa")
    op.drop_table("project_taxa_lists")
    op.drop_table("taxa_lists")
