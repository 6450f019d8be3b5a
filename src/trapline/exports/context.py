"""What every writer needs besides the rows: the project, the names its results use, and the
problems met on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trapline.domain.core.records import Deployment, Project
from trapline.domain.exports.exports import ExportFilters
from trapline.domain.exports.facts import AlgorithmFacts, AnalysisFacts
from trapline.domain.pipelines.pipelines import PipelineFacts
from trapline.domain.taxa.taxa import Taxon
from trapline.exports.file_names import FileNames

#: Keys of a category map entry that mark it as a taxon.
_TAXON_KEYS = ("taxon_rank", "rank", "gbif_key", "gbif_id", "scientific_name", "scientificName")


@dataclass
class ExportContext:
    """What every writer needs besides the rows: the project and the names results use."""

    project: Project
    filters: ExportFilters
    deployments: dict[int, Deployment]
    algorithms: dict[int, AlgorithmFacts]
    pipelines: dict[int, PipelineFacts]
    created_at: datetime
    #: The server's public address (``TRAPLINE_PUBLIC_URL``) links to media start with; None
    #: when none is set.
    base_url: str | None = None
    #: This installation's UUID: what makes the ids the export publishes globally unique.
    installation: str = "local"
    #: The labels a person mapped as no object (``no_object``).
    hidden_labels: frozenset[str] = frozenset()
    #: The threshold each job set for its runs, of those that set one (``db/run_threshold.py``).
    job_thresholds: dict[int, float] = field(default_factory=dict)
    #: The taxa the occurrences read so far name, and their ancestors, by id.
    taxa: dict[int, Taxon] = field(default_factory=dict)
    #: The file names photos take in paths (``file_names.py``): their own but where shared.
    file_names: FileNames = field(default_factory=FileNames)
    #: What the export counts, a line per deployment (``Export.counted``).
    counted: tuple[str, ...] = ()
    #: Problems met while writing (an image the format cannot hold...); the first few kept.
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    #: Category-map entries by algorithm and label, made when first asked for (a species
    #: classifier's map has thousands of labels).
    _entries: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def pipeline_of(self, analysis: AnalysisFacts) -> PipelineFacts | None:
        """The pipeline version that made ``analysis``, with its run's threshold: the one its
        job set, else the pipeline's default (none when the pipeline declares none)."""
        found = self.pipelines.get(analysis.pipeline_id) if analysis.pipeline_id else None
        own = self.job_thresholds.get(analysis.job_id) if analysis.job_id else None
        if found is None or found.threshold is None or own is None:
            return found
        return found._replace(threshold=own)

    def problem(self, message: str) -> None:
        """Note a problem; the export keeps the first 100."""
        self.problem_count += 1
        if len(self.problems) < 100:
            self.problems.append(message)

    def taxon(self, algorithm: AlgorithmFacts | None, label: str) -> dict[str, Any] | None:
        """The category-map entry of ``label`` when it describes a taxon."""
        if algorithm is None or not algorithm.data:
            return None
        entries = self._entries.get(algorithm.id)
        if entries is None:
            entries = self._entries[algorithm.id] = _entries_by_label(algorithm)
        entry = entries.get(label)
        if entry is None or not any(k in entry for k in _TAXON_KEYS):
            return None
        return entry


def _entries_by_label(algorithm: AlgorithmFacts) -> dict[str, dict[str, Any]]:
    """An algorithm's category-map entries by label (an entry without one is its index's
    label's); the first entry of a label counts."""
    found: dict[str, dict[str, Any]] = {}
    for n, item in enumerate(algorithm.data):
        if not isinstance(item, dict):
            continue
        if "label" in item:
            if isinstance(item["label"], str):  # a label of another type names nothing
                found.setdefault(item["label"], item)
        elif n < len(algorithm.labels):
            found.setdefault(algorithm.labels[n], item)
    return found


def published_id(installation: str, kind: str, object_id: int) -> str:
    """The id an export publishes for an occurrence or event (``urn:trapline:<installation
    UUID>:<kind>:<id>``): unique across installations, and the same in every export, re-run
    and regrouping that keeps the object's id (docs/counting.md)."""
    return f"urn:trapline:{installation}:{kind}:{object_id}"
