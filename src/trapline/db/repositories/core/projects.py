"""Projects and memberships."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from trapline.db.photo_findings import project_findings_due
from trapline.db.repositories.core.installation import installation_uuid
from trapline.db.tables import (
    JobRow,
    MembershipRow,
    PipelinePinRow,
    PipelineRow,
    ProjectRow,
    TaskRow,
    UserRow,
)
from trapline.db.tracking_due import project_events_due
from trapline.db.types import access_changed, affected
from trapline.domain.core.event_rules import ProjectKind
from trapline.domain.core.records import Contact, Membership, Project
from trapline.domain.core.roles import Role


def to_project(row: ProjectRow) -> Project:
    """Record from a row."""
    return Project(
        id=row.id,
        name=row.name,
        description=row.description,
        image_count=row.image_count,
        created_at=row.created_at,
        classification_top_k=row.classification_top_k,
        keep_full_scores=row.keep_full_scores,
        time_zone=row.time_zone,
        licence=row.licence or "",
        contacts=tuple(Contact(**c) for c in row.contacts or ()),
        kind=row.kind,
        counting_pipeline=row.counting_pipeline,
        event_rule=row.event_rule,
        event_gap_seconds=row.event_gap_seconds,
    )


class ProjectRepo:
    """Projects and who belongs to them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self, name: str, description: str, owner_id: int, kind: ProjectKind = ProjectKind.OTHER
    ) -> Project:
        """Add a project with its creator as owner; its kind sets its event rule."""
        row = ProjectRow(
            name=name,
            description=description,
            created_by=owner_id,
            image_count=0,
            kind=kind.value,
            event_rule=kind.grouping.rule.value,
            event_gap_seconds=kind.grouping.gap_seconds,
        )
        self.session.add(row)
        self.session.flush()
        self.session.add(MembershipRow(project_id=row.id, user_id=owner_id, role=Role.OWNER))
        self.session.flush()
        return to_project(row)

    def installation(self) -> str:
        """This installation's UUID (``installation.py``)."""
        return installation_uuid(self.session)

    def get(self, project_id: int) -> Project | None:
        """The project with this id."""
        row = self.session.get(ProjectRow, project_id)
        return to_project(row) if row else None

    def lock(self, project_id: int) -> None:
        """Hold the project's row until the transaction ends, so that transactions taking
        this lock run one after another (PostgreSQL; SQLite writers are serial anyway).

        NO KEY UPDATE: unlike FOR UPDATE, it leaves rows that refer to the project (images,
        tasks, analyses) free to be added meanwhile; it only queues those who lock it so.
        """
        self.session.execute(
            select(ProjectRow.id).where(ProjectRow.id == project_id).with_for_update(key_share=True)
        )

    def list_visible(
        self, user_id: int, *, everything: bool, limit: int, offset: int
    ) -> tuple[int, list[tuple[Project, Role | None]]]:
        """Projects a user belongs to (all of them when ``everything``) with the user's role."""
        member = (MembershipRow.project_id == ProjectRow.id) & (MembershipRow.user_id == user_id)
        query = select(ProjectRow, MembershipRow.role).outerjoin(MembershipRow, member)
        if not everything:
            query = query.where(MembershipRow.user_id.is_not(None))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.execute(query.order_by(ProjectRow.id).limit(limit).offset(offset))
        return total, [(to_project(p), Role(r) if r else None) for p, r in rows]

    def update(self, project_id: int, **values: object) -> Project | None:
        """Change name, description, how results are kept or the default time zone."""
        access_changed(self.session)  # workers' remembered projects carry these
        row = self.session.get(ProjectRow, project_id)
        if row is None:
            return None
        for field, value in values.items():
            if field == "contacts":
                value = [asdict(c) for c in value]  # type: ignore[attr-defined]
            setattr(row, field, value)
        self.session.flush()
        return to_project(row)

    def delete(self, project_id: int) -> None:
        """Remove a project and everything in it (by the keys' cascade)."""
        access_changed(self.session)
        # The tasks of its jobs first, as a result being stored takes them (its tasks, then
        # its image and job): this waits for such a result to commit instead of deadlocking
        # with it.
        jobs = select(JobRow.id).where(JobRow.project_id == project_id)
        self.session.execute(delete(TaskRow).where(TaskRow.job_id.in_(jobs)))
        self.session.execute(delete(ProjectRow).where(ProjectRow.id == project_id))

    def ids_for(self, user_id: int, *, at_least: Role = Role.VIEWER) -> list[int]:
        """Projects the user belongs to with at least the given role."""
        roles = [r.value for r in Role if r.allows(at_least)]
        return list(
            self.session.scalars(
                select(MembershipRow.project_id).where(
                    MembershipRow.user_id == user_id, MembershipRow.role.in_(roles)
                )
            )
        )

    def role_of(self, project_id: int, user_id: int) -> Role | None:
        """The user's role in the project, or None when not a member."""
        role = self.session.scalar(
            select(MembershipRow.role).where(
                MembershipRow.project_id == project_id, MembershipRow.user_id == user_id
            )
        )
        return Role(role) if role else None

    def members(self, project_id: int) -> list[Membership]:
        """The project's members with their roles, by user id."""
        rows = self.session.execute(
            select(MembershipRow, UserRow)
            .join(UserRow, UserRow.id == MembershipRow.user_id)
            .where(MembershipRow.project_id == project_id)
            .order_by(MembershipRow.user_id)
        )
        return [
            Membership(
                project_id=m.project_id,
                user_id=u.id,
                email=u.email,
                name=u.name,
                role=Role(m.role),
                created_at=m.created_at,
            )
            for m, u in rows
        ]

    def set_role(self, project_id: int, user_id: int, role: Role) -> bool:
        """Add a member or change their role; True when the member is new."""
        access_changed(self.session)
        row = self.session.get(MembershipRow, (project_id, user_id))
        if row is None:
            self.session.add(MembershipRow(project_id=project_id, user_id=user_id, role=role))
            self.session.flush()
            return True
        row.role = role
        self.session.flush()
        return False

    def remove_member(self, project_id: int, user_id: int) -> bool:
        """Remove a member; False when they were not one."""
        access_changed(self.session)
        result = self.session.execute(
            delete(MembershipRow).where(
                MembershipRow.project_id == project_id, MembershipRow.user_id == user_id
            )
        )
        return bool(affected(result))

    def has_pipeline(self, project_id: int, slug: str, version: int) -> bool:
        """Whether the project has this version of the pipeline."""
        found = self.session.scalar(
            select(PipelineRow.id).where(
                PipelineRow.project_id == project_id,
                PipelineRow.slug == slug,
                PipelineRow.version == version,
            )
        )
        return found is not None

    def pin(self, project_id: int, slug: str, version: int) -> None:
        """Make ``version`` of the pipeline the one whose results are current."""
        row = self.session.get(PipelinePinRow, (project_id, slug))
        if row is None:
            self.session.add(PipelinePinRow(project_id=project_id, slug=slug, version=version))
        else:
            row.version = version
        self.session.flush()
        project_events_due(self.session, project_id)
        project_findings_due(self.session, project_id)

    def unpin(self, project_id: int, slug: str) -> None:
        """Let the newest version's results be current again."""
        self.session.execute(
            delete(PipelinePinRow).where(
                PipelinePinRow.project_id == project_id, PipelinePinRow.slug == slug
            )
        )
        project_events_due(self.session, project_id)
        project_findings_due(self.session, project_id)

    def pins(self, project_id: int) -> dict[str, int]:
        """The pinned version of each pipeline that has one."""
        rows = self.session.execute(
            select(PipelinePinRow.slug, PipelinePinRow.version).where(
                PipelinePinRow.project_id == project_id
            )
        )
        return {slug: int(version) for slug, version in rows}

    def count_owners(self, project_id: int) -> int:
        """How many owners the project has."""
        return (
            self.session.scalar(
                select(func.count()).where(
                    MembershipRow.project_id == project_id, MembershipRow.role == Role.OWNER
                )
            )
            or 0
        )
