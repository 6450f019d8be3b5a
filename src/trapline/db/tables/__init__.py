"""SQLAlchemy tables. Every change here needs an Alembic migration (tests check they agree)."""

from trapline.db.tables.accounts import ReviewRow, SessionRow
from trapline.db.tables.base import NAMING_CONVENTION, Base
from trapline.db.tables.callbacks import ArtifactRow, CallbackSecretRow, CallbackSignatureRow
from trapline.db.tables.events import (
    EventRow,
    OccurrenceDetectionRow,
    OccurrenceRow,
    OccurrenceTallyRow,
    RegroupingRow,
)
from trapline.db.tables.exports import ExportRow
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
    PipelinePinRow,
    ProjectRow,
    RereadRow,
    UserRow,
)
from trapline.db.tables.sources import PullSourceItemRow, PullSourceRow, PullSourceRunRow
from trapline.db.tables.taxa import (
    IdentificationRow,
    LabelMappingRow,
    ProjectTaxaListRow,
    TaxaListRow,
    TaxonNameRow,
    TaxonRow,
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
    "EventRow",
    "ExportRow",
    "IdentificationRow",
    "ImageRow",
    "JobEventRow",
    "JobRow",
    "LabelMappingRow",
    "MembershipRow",
    "OccurrenceDetectionRow",
    "OccurrenceRow",
    "OccurrenceTallyRow",
    "PipelineAlgorithmRow",
    "PipelinePinRow",
    "PipelineRow",
    "ProcessingServiceRow",
    "ProjectPipelineRow",
    "ProjectRow",
    "ProjectServiceRow",
    "ProjectTaxaListRow",
    "PullSourceItemRow",
    "PullSourceRow",
    "PullSourceRunRow",
    "RegroupingRow",
    "RereadRow",
    "ReviewRow",
    "ServicePipelineRow",
    "SessionRow",
    "TaskRow",
    "TaxaListRow",
    "TaxonNameRow",
    "TaxonRow",
    "UserRow",
    "WorkerRow",
]
