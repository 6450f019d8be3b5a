"""SQLAlchemy tables. Every change here needs an Alembic migration (tests check they agree)."""

from trapline.db.tables.base import NAMING_CONVENTION, Base
from trapline.db.tables.callbacks import ArtifactRow, CallbackSecretRow, CallbackSignatureRow
from trapline.db.tables.jobs import (
    AnalysisRow,
    AnnotationRow,
    DutyLeaseRow,
    JobEventRow,
    JobRow,
    TaskRow,
)
from trapline.db.tables.ml import (
    AlgorithmRow,
    CategoryMapRow,
    PipelineAlgorithmRow,
    PipelineRow,
    ProcessingServiceRow,
    ProjectPipelineRow,
    ProjectServiceRow,
    ServicePipelineRow,
    WorkerRow,
)
from trapline.db.tables.platform import (
    ApiTokenRow,
    CollectionImageRow,
    CollectionRow,
    DeploymentRow,
    ImageRow,
    MembershipRow,
    ProjectRow,
    UserRow,
)

__all__ = [
    "NAMING_CONVENTION",
    "AlgorithmRow",
    "AnalysisRow",
    "AnnotationRow",
    "ApiTokenRow",
    "ArtifactRow",
    "Base",
    "CallbackSecretRow",
    "CallbackSignatureRow",
    "CategoryMapRow",
    "CollectionImageRow",
    "CollectionRow",
    "DeploymentRow",
    "DutyLeaseRow",
    "ImageRow",
    "JobEventRow",
    "JobRow",
    "MembershipRow",
    "PipelineAlgorithmRow",
    "PipelineRow",
    "ProcessingServiceRow",
    "ProjectPipelineRow",
    "ProjectRow",
    "ProjectServiceRow",
    "ServicePipelineRow",
    "TaskRow",
    "UserRow",
    "WorkerRow",
]
