"""Tables of taxa lists, their taxa and names, the mapping of pipelines' labels onto taxa,
and people's identifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from trapline.db.tables.base import Base
from trapline.db.types import IdType, UTCDateTime, utcnow

#: A name folded to lower case, compared byte by byte on PostgreSQL too (``COLLATE "C"``), so
#: that a prefix is a range of the index whatever the database's locale.
NAME_KEY = String(255).with_variant(String(255, collation="C"), "postgresql")
#: A lineage, compared byte by byte too: everything under a taxon is a range of the index.
LINEAGE = Text().with_variant(Text(collation="C"), "postgresql")


class TaxaListRow(Base):
    """A list of taxa; projects use one each (``project_taxa_lists``) and may share it."""

    __tablename__ = "taxa_lists"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The project whose managers edit it; None once that project is deleted.
    owner_project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True, index=True
    )
    taxon_count: Mapped[int] = mapped_column(IdType, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectTaxaListRow(Base):
    """The taxa list a project counts its occurrences under (its own, or one it shares)."""

    __tablename__ = "project_taxa_lists"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(
        ForeignKey("taxa_lists.id", ondelete="CASCADE"), index=True
    )


class TaxonRow(Base):
    """A taxon of a list."""

    __tablename__ = "taxa"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("taxa_lists.id", ondelete="CASCADE"))
    scientific_name: Mapped[str] = mapped_column(String(255))
    #: The name folded to lower case: what lookups and the type-ahead compare.
    name_key: Mapped[str] = mapped_column(String(255))
    rank: Mapped[str] = mapped_column(String(16))
    #: ``domain/taxa/taxa.py`` Rank.level: the species view rolls up and filters by it.
    rank_level: Mapped[int] = mapped_column(SmallInteger)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("taxa.id", ondelete="SET NULL"), nullable=True
    )
    #: The ancestors' ids from the root down to the parent, as "/1/5/20/" ("/" for a root).
    lineage: Mapped[str] = mapped_column(LINEAGE, default="/")
    gbif_key: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    lsid: Mapped[str | None] = mapped_column(String(255), nullable=True)
    source_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: Vernacular names by language tag.
    vernacular: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        UniqueConstraint("list_id", "name_key", "rank", name="uq_taxa_list_name_rank"),
        Index("ix_taxa_parent", "parent_id"),
        Index("ix_taxa_lineage", "list_id", "lineage"),
    )


class TaxonNameRow(Base):
    """A name a taxon is found by (its scientific name and each vernacular name), folded to
    lower case: the type-ahead is a range scan of ``(list_id, name_key)``."""

    __tablename__ = "taxon_names"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    list_id: Mapped[int] = mapped_column(IdType)
    taxon_id: Mapped[int] = mapped_column(ForeignKey("taxa.id", ondelete="CASCADE"), index=True)
    name_key: Mapped[str] = mapped_column(NAME_KEY)

    __table_args__ = (Index("ix_taxon_names_search", "list_id", "name_key"),)


class LabelMappingRow(Base):
    """What a label of a project's pipelines stands for, as a person set it: a taxon of the
    project's list, or no object at all."""

    __tablename__ = "label_mappings"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    taxon_id: Mapped[int | None] = mapped_column(
        ForeignKey("taxa.id", ondelete="CASCADE"), nullable=True
    )
    set_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("project_id", "label", name="uq_label_mappings_project_label"),
        CheckConstraint(
            "(kind = 'taxon' AND taxon_id IS NOT NULL) OR (kind = 'non_object' AND taxon_id "
            "IS NULL)",
            name="kind",
        ),
    )


class IdentificationRow(Base):
    """A person's identification of an occurrence or a detection, kept with its history: a
    newer one never replaces an older one, it outranks it."""

    __tablename__ = "identifications"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    #: The occurrence it was made on; None when made on a detection, or once the occurrence
    #: went in a later tracking (the identification stays with its detection).
    occurrence_id: Mapped[int | None] = mapped_column(
        ForeignKey("occurrences.id", ondelete="SET NULL"), nullable=True, index=True
    )
    #: The detection it is attached to (an occurrence's best one when made on an occurrence):
    #: the occurrence that holds the detection is what it identifies.
    annotation_id: Mapped[int] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE"), index=True
    )
    #: The taxon it names; None for a rejection.
    taxon_id: Mapped[int | None] = mapped_column(
        ForeignKey("taxa.id", ondelete="CASCADE"), nullable=True, index=True
    )
    #: A rejection (``domain/taxa/rejections.Rejection``'s value) instead of a taxon: the
    #: occurrence is nothing to count. Exactly one of ``taxon_id`` and ``rejected`` is set.
    rejected: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: ``model``, or the id of the identification agreed with; None for one's own choice.
    agreed_with: Mapped[str | None] = mapped_column(String(32), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("(taxon_id IS NULL) <> (rejected IS NULL)", name="taxon_or_rejected"),
        # A person's latest identifications in a project, newest first (their quick taxa).
        Index("ix_identifications_user_project_id", "user_id", "project_id", "id"),
    )
