"""Bodies of taxa, label mappings, identifications and the species view."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from trapline.domain.ecology.species import SpeciesCount, TaxonProfile
from trapline.domain.taxa.taxa import (
    Identification,
    LabelMapping,
    RowOutcome,
    RowStatus,
    TaxaList,
    Taxon,
)
from trapline.protocol.base import ONE_LINE
from trapline.schemas.common import BodyId, Input, Instant, Name
from trapline.schemas.occurrences import EditedId, OccurrenceOut
from trapline.services.review.identifications import MAX_BULK

#: A label as results name it.
MappedLabel = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=ONE_LINE)]


class TaxonOut(BaseModel):
    """A taxon of a project's list."""

    id: int
    scientific_name: str
    rank: str
    parent_id: int | None
    lineage: list[int] = Field(description="the ancestors' ids, from the root to the parent")
    gbif_key: int | None
    lsid: str | None
    source_id: str | None = Field(description="the id the imported list gave it")
    taxon_id: str | None = Field(description="its id for publishing: GBIF URL, else LSID")
    vernacular_names: dict[str, str] = Field(description="by language tag")

    @classmethod
    def of(cls, t: Taxon) -> TaxonOut:
        return cls(
            id=t.id,
            scientific_name=t.scientific_name,
            rank=t.rank.value,
            parent_id=t.parent_id,
            lineage=list(t.lineage),
            gbif_key=t.gbif_key,
            lsid=t.lsid,
            source_id=t.source_id,
            taxon_id=t.taxon_id_uri,
            vernacular_names=dict(t.vernacular),
        )


class TaxaListOut(BaseModel):
    id: int
    name: str
    owner_project_id: int | None = Field(description="the project whose managers edit it")
    taxon_count: int
    created_at: Instant

    @classmethod
    def of(cls, t: TaxaList) -> TaxaListOut:
        return cls(
            id=t.id,
            name=t.name,
            owner_project_id=t.owner_project_id,
            taxon_count=t.taxon_count,
            created_at=t.created_at,
        )


class RowOutcomeOut(BaseModel):
    """What an import did with one row of the file."""

    row: int
    name: str
    status: Literal["added", "updated", "unchanged", "error"]
    message: str | None

    @classmethod
    def of(cls, o: RowOutcome) -> RowOutcomeOut:
        return cls(row=o.row, name=o.name, status=o.status.value, message=o.message)


class TaxaImportOut(BaseModel):
    added: int
    updated: int
    unchanged: int
    rows: list[RowOutcomeOut]

    @staticmethod
    def json_of(outcomes: Sequence[RowOutcome]) -> bytes:
        """The answer to an import as this model writes it, written a row at a time: a model
        and a dict per row of a 250,000-row file held ~190 MB more than its JSON."""
        counted = {s.value: 0 for s in RowStatus if s is not RowStatus.ERROR}
        for o in outcomes:
            counted[o.status.value] += 1
        body = bytearray(json.dumps(counted).encode()[:-1] + b', "rows": [')
        for i, o in enumerate(outcomes):
            row = {"row": o.row, "name": o.name, "status": o.status.value, "message": o.message}
            body += (b"," if i else b"") + json.dumps(row, ensure_ascii=False).encode()
        body += b"]}"
        return bytes(body)


class ShareIn(Input):
    taxa_list_id: BodyId


class LabelMappingIn(Input):
    """What a label stands for: a taxon of the list, or no object; neither (both left out)
    forgets a person's word, and the label is worked out again."""

    label: MappedLabel
    taxon_id: BodyId | None = None
    non_object: bool = False


class LabelMappingOut(BaseModel):
    label: str
    kind: Literal["taxon", "non_object"] | None
    taxon_id: int | None
    how: Literal["person", "name", "category_map", "no_object"] | None = Field(
        description="how the mapping was made; null while the label is unmapped"
    )
    occurrences: int

    @classmethod
    def of(cls, m: LabelMapping) -> LabelMappingOut:
        return cls(
            label=m.label,
            kind=m.kind.value if m.kind else None,
            taxon_id=m.taxon_id,
            how=m.how,
            occurrences=m.occurrences,
        )


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("comment: no NUL characters")
    return value


#: A person's comment on an identification.
Comment = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)]


#: A rejection as the API names it (``domain/taxa/rejections.Rejection``).
RejectionName = Literal["not_an_insect", "not_an_animal", "nothing_there"]


class IdentificationIn(Input):
    """Name a taxon, agree with the model (``"model"``) or an identification (its id), or
    reject the occurrence (``rejected``); exactly one of them."""

    taxon_id: BodyId | None = None
    agree_with: Literal["model"] | BodyId | None = None
    rejected: RejectionName | None = Field(
        default=None, description="not a taxon: the occurrence is nothing to count"
    )
    comment: Comment = ""


class BulkIdentificationIn(Input):
    """Identify many occurrences of the project at once: as one taxon of its list, each as its
    model's label names (``agree_with: "model"``), or reject them all (``rejected``); exactly
    one of the three."""

    occurrence_ids: list[EditedId] = Field(
        min_length=1,
        max_length=MAX_BULK,
        json_schema_extra={"uniqueItems": True},
        description=f"1 to {MAX_BULK} occurrences of the project, each once",
    )
    taxon_id: BodyId | None = None
    agree_with: Literal["model"] | None = None
    rejected: RejectionName | None = Field(
        default=None, description="not a taxon: the occurrences are nothing to count"
    )
    comment: Comment = ""


class BulkIdentificationOut(BaseModel):
    """What a bulk identification made: one identification per occurrence, in the order
    given, and each occurrence as now determined."""

    count: int
    identifications: list[IdentificationOut]
    occurrences: list[OccurrenceOut]


class DetectionIdentificationIn(Input):
    taxon_id: BodyId
    comment: Comment = ""


class IdentificationOut(BaseModel):
    id: int
    occurrence_id: int | None
    annotation_id: int
    taxon: dict[str, object] | None = Field(
        description="id, scientific_name and rank; null for a rejection"
    )
    rejected: RejectionName | None = Field(
        default=None, description="the rejection it is, if it names no taxon"
    )
    agreed_with: str | None = Field(description="'model', an identification id, or null")
    comment: str
    user: str | None
    created_at: Instant
    withdrawn: bool

    @classmethod
    def of(cls, i: Identification) -> IdentificationOut:
        return cls(
            id=i.id,
            occurrence_id=i.occurrence_id,
            annotation_id=i.annotation_id,
            taxon=(
                {"id": i.taxon_id, "scientific_name": i.taxon_name, "rank": i.taxon_rank}
                if i.taxon_id is not None
                else None
            ),
            rejected=i.rejected,
            agreed_with=i.agreed_with,
            comment=i.comment,
            user=i.user_name,
            created_at=i.created_at,
            withdrawn=i.withdrawn,
        )


class SpeciesOut(BaseModel):
    """A row of the species view."""

    taxon: TaxonOut | None = Field(description="null: occurrences whose label names no taxon")
    occurrences: int
    detections: int
    deployments: int
    first_night: date | None
    last_night: date | None
    best_occurrence_id: int | None
    best_detection_id: int | None = Field(description="its crop: /annotations/{id}/crop")

    @classmethod
    def of(cls, c: SpeciesCount) -> SpeciesOut:
        return cls(
            taxon=TaxonOut.of(c.taxon) if c.taxon else None,
            occurrences=c.occurrences,
            detections=c.detections,
            deployments=c.deployments,
            first_night=c.first_night,
            last_night=c.last_night,
            best_occurrence_id=c.best_occurrence_id,
            best_detection_id=c.best_annotation_id,
        )


class NightCount(BaseModel):
    night: date
    occurrences: int


class TaxonProfileOut(SpeciesOut):
    """A taxon with everything under it: phenology, activity by hour, deployments."""

    per_night: list[NightCount]
    per_hour: list[int] = Field(description="occurrences first seen in each hour, 0 to 23")
    per_deployment: dict[str, int] = Field(description="occurrences by deployment id")
    recent_occurrence_ids: list[int]

    @classmethod
    def of_profile(cls, p: TaxonProfile, recent: list[int]) -> TaxonProfileOut:
        return cls(
            **SpeciesOut.of(p.count).model_dump(),
            per_night=[NightCount(night=n, occurrences=c) for n, c in p.per_night],
            per_hour=[p.per_hour.get(h, 0) for h in range(24)],
            per_deployment={str(d): n for d, n in p.per_deployment},
            recent_occurrence_ids=recent,
        )


class ListNameIn(Input):
    name: Name
