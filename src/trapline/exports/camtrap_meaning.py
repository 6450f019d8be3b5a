"""What a detection's label or an occurrence's taxon means in a Camtrap DP observation: its
``scientificName``, ``observationType`` and ``observationTags``; the taxa named on the way make
the package's taxonomic coverage."""

from __future__ import annotations

from typing import Any

from trapline.domain.exports.facts import AlgorithmFacts
from trapline.exports.camtrap_package import category_entry, taxon_entry
from trapline.exports.reader import Detection, ExportContext
from trapline.exports.taxonomy import TaxonTerms, taxon_terms

#: Labels that say what kind of thing was seen, whatever the model (lower case).
_TYPES = {
    "person": "human", "human": "human", "people": "human", "vehicle": "vehicle",
    "car": "vehicle", "blank": "blank", "empty": "blank", "animal": "animal",
}  # fmt: skip

#: scientificName, observationType and observationTags.
Meaning = tuple[str, str, str]


class Meanings:
    """Labels and taxa as observations name them, each worked out once; ``taxa`` gathers the
    taxonomic coverage (scientificName -> its entry)."""

    def __init__(self, context: ExportContext) -> None:
        self.context = context
        self.taxa: dict[str, dict[str, Any]] = {}
        #: The meaning of each algorithm's label and category.
        self._meanings: dict[tuple[int | None, str | None, str | None], Meaning] = {}
        #: The scientific name of each taxon of the list written, by id.
        self._names: dict[int, str] = {}

    def taxon_name(self, taxon_id: int | None) -> str:
        """The scientific name of a taxon of the project's list ("" for none); the first time,
        the taxon joins the taxonomic coverage."""
        if taxon_id is None:
            return ""
        name = self._names.get(taxon_id)
        if name is None:
            terms = _terms(self.context, taxon_id)
            name = self._names[taxon_id] = terms.scientific_name if terms else ""
            if terms is not None:
                self.taxa.setdefault(name, taxon_entry(terms))
        return name

    def of_detection(self, d: Detection) -> Meaning:
        """What a detection's label says, by the algorithm that gave it."""
        algorithm = d.classifier or d.detector
        return self._of(algorithm, d.label, d.category)

    def of_label(self, label: str | None) -> Meaning:
        """What a label no one algorithm gave says (an occurrence's determination): by the
        first category map (by algorithm id) that describes it as a taxon, if one does."""
        key = (None, label, None)
        found = self._meanings.get(key)
        if found is None:
            algorithms = self.context.algorithms
            mapped = [algorithms[a] for a in sorted(algorithms)] if label else []
            which = next((a for a in mapped if self.context.taxon(a, label or "")), None)
            found = self._meanings[key] = self._work_out(which, label, None)
        return found

    def _of(
        self, algorithm: AlgorithmFacts | None, label: str | None, category: str | None
    ) -> Meaning:
        key = (algorithm.id if algorithm else None, label, category)
        found = self._meanings.get(key)
        if found is None:
            found = self._meanings[key] = self._work_out(algorithm, label, category)
        return found

    def _work_out(
        self, algorithm: AlgorithmFacts | None, label: str | None, category: str | None
    ) -> Meaning:
        """A meaning, the first time; a taxon it names joins the taxonomic coverage."""
        taxon = self.context.taxon(algorithm, label) if label else None
        name = _scientific_name(taxon, label) if taxon else ""
        if name:
            self.taxa.setdefault(name, category_entry(name, taxon or {}))
        kind = _TYPES.get((label or category or "").lower()) or ("animal" if name else "")
        if not kind:
            kind = _TYPES.get((category or "").lower(), "unknown")
        tags = f"label:{_tag_value(label)}" if label and not name else ""
        return name, kind, tags


def _terms(context: ExportContext, taxon_id: int) -> TaxonTerms | None:
    taxon = context.taxa.get(taxon_id)
    return taxon_terms(taxon, context.taxa) if taxon else None


def _scientific_name(taxon: dict[str, Any] | None, label: str | None) -> str:
    if taxon is None:
        return ""
    for key in ("scientific_name", "scientificName", "name"):
        if taxon.get(key):
            return str(taxon[key])
    return label or ""


def _tag_value(text: str) -> str:
    """``text`` as the value of a ``key:value`` tag of a pipe-separated list: a ``|`` (and the
    ``%`` that escapes it) percent-encoded, so that a label holding one stays one tag."""
    return text.replace("%", "%25").replace("|", "%7C")
