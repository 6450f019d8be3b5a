"""The threshold of a run: the one definition tracking, the viewer, the review queues and the
evaluation sets read a box's "under the threshold" by.

A run (an analysis) of a pipeline that declares a default threshold counts its boxes from the
threshold its job set for it (``params.settings.threshold``, ``JobParams.threshold``) when the
job set one, else from the pipeline's default. A run of a pipeline that declares none, or that
no pipeline made (an external pipeline's, through the callback API), has no threshold: its
boxes all count. The job's setting is read from its stored parameters where it is kept, so
there is no second copy to keep in step; the pipeline's default is its registration's latest
word (``PipelineRow.default_threshold``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, case, func, null, select
from sqlalchemy.orm import Session

from trapline.db.tables import AnalysisRow, JobRow, PipelineRow
from trapline.db.types import chunks

_Ts = TypeVarTuple("_Ts")

#: The threshold a job set for its run, read out of its stored parameters (a path into JSON
#: that SQLite's ``json_extract`` and PostgreSQL's ``#>>`` both answer; NULL when unset).
JOB_THRESHOLD: ColumnElement[float] = JobRow.params[("settings", "threshold")].as_float()

#: The threshold of a run, for a query that reads ``AnalysisRow`` with its pipeline and job
#: joined (``with_run_rows``): NULL when its pipeline declares none.
RUN_THRESHOLD: ColumnElement[float | None] = case(
    (PipelineRow.default_threshold.is_(None), null()),
    else_=func.coalesce(JOB_THRESHOLD, PipelineRow.default_threshold),
)


def with_run_rows(query: Select[*_Ts]) -> Select[*_Ts]:
    """``query`` (which reads ``AnalysisRow``) with the run's pipeline and job joined, as
    ``RUN_THRESHOLD`` reads them (neither need be there: an external pipeline's analysis has
    no pipeline, a deleted job leaves its results without one)."""
    return query.outerjoin(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id).outerjoin(
        JobRow, JobRow.id == AnalysisRow.job_id
    )


def run_thresholds(session: Session, analysis_ids: Collection[int]) -> dict[int, float]:
    """The thresholds of these runs (by analysis id), of those that have one."""
    found: dict[int, float] = {}
    for chunk in chunks(sorted(analysis_ids)):
        query = with_run_rows(select(AnalysisRow.id, RUN_THRESHOLD).select_from(AnalysisRow))
        for analysis_id, threshold in session.execute(query.where(AnalysisRow.id.in_(chunk))):
            if threshold is not None:
                found[int(analysis_id)] = float(threshold)
    return found
