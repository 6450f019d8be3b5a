"""Groups of unknown individuals: unidentified individuals grouped by their feature vectors,
named a group at once (docs/evaluation.md, decision 072)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from trapline.api.deps import CurrentUser, DatabaseDep, GroupingRunnerDep
from trapline.http.params import Id
from trapline.schemas.common import ErrorOut
from trapline.schemas.groupings import (
    GroupingCreated,
    GroupingIn,
    GroupingOut,
    GroupNamed,
    GroupNameIn,
)
from trapline.services.review import groupings

router = APIRouter(tags=["evaluation"])

#: A group's number in its grouping.
GroupNumber = Annotated[int, Path(ge=1, le=10_000)]


@router.post(
    "/projects/{project_id}/groupings",
    status_code=202,
    responses={
        400: {
            "model": ErrorOut,
            "description": "No such pipeline or deployment, nights out of order, vectors of "
            "several lengths, or too few unidentified individuals with vectors: says which.",
        },
    },
)
def create_grouping(
    project_id: Id,
    body: GroupingIn,
    caller: CurrentUser,
    db: DatabaseDep,
    runner: GroupingRunnerDep,
) -> GroupingCreated:
    """Group the project's unidentified individuals by their features (members); poll it until
    done."""
    made = groupings.create_grouping(
        db, runner, caller, project_id, body.features_from, name=body.name,
        deployment_id=body.deployment_id, since=body.since, until=body.until,
    )  # fmt: skip
    return GroupingCreated(id=made.id, status=made.status.value)


@router.get("/projects/{project_id}/groupings")
def list_groupings(project_id: Id, caller: CurrentUser, db: DatabaseDep) -> dict[str, object]:
    """The project's groupings, newest first (their groups without members)."""
    found = [GroupingOut.of(g) for g in groupings.list_groupings(db, caller, project_id)]
    return {"count": len(found), "next": None, "previous": None, "results": found}


@router.get("/groupings/{grouping_id}")
def get_grouping(grouping_id: Id, caller: CurrentUser, db: DatabaseDep) -> GroupingOut:
    """One grouping: its status and, once done, its groups with the members most alike each
    group's centre."""
    view = groupings.view_grouping(db, caller, grouping_id)
    return GroupingOut.of(view.grouping, view.left, view.samples)


@router.post(
    "/groupings/{grouping_id}/groups/{number}/identify",
    status_code=201,
    responses={
        400: {
            "model": ErrorOut,
            "description": "The grouping is not done, has no such group, the group has no "
            "unidentified individual left, or the taxon is not of the project's list.",
        },
    },
)
def name_group(
    grouping_id: Id, number: GroupNumber, body: GroupNameIn, caller: CurrentUser, db: DatabaseDep
) -> GroupNamed:
    """Identify every individual of a group nobody identified since as the taxon (members),
    each as the caller's identification."""
    named = groupings.name_group(
        db, caller, grouping_id, number, body.taxon_id, comment=body.comment
    )
    return GroupNamed(
        grouping_id=grouping_id, group=number, taxon_id=named.taxon_id,
        identified=named.identified,
    )  # fmt: skip
