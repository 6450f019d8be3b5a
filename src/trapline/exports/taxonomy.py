"""What the publishing formats say of a taxon of the project's list: its higher ranks from
its lineage, and its vernacular names by language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from trapline.domain.taxa.taxa import Rank, Taxon

#: The higher ranks Darwin Core and Camtrap DP name a taxon's classification by.
HIGHER_RANKS = (Rank.KINGDOM, Rank.PHYLUM, Rank.CLASS, Rank.ORDER, Rank.FAMILY, Rank.GENUS)
#: ISO 639-3 codes of the common two-letter (ISO 639-1) language tags.
_ISO_639_3 = {
    "en": "eng", "fr": "fra", "de": "deu", "nl": "nld", "es": "spa", "pt": "por", "it": "ita",
    "sv": "swe", "da": "dan", "nb": "nob", "nn": "nno", "no": "nor", "fi": "fin", "pl": "pol",
    "cs": "ces", "ru": "rus", "ja": "jpn", "zh": "zho", "sw": "swa", "id": "ind", "ms": "msa",
    "hi": "hin", "ar": "ara", "tr": "tur", "el": "ell", "hu": "hun", "ro": "ron", "uk": "ukr",
    "ca": "cat", "et": "est", "lv": "lav", "lt": "lit", "is": "isl", "ga": "gle", "cy": "cym",
}  # fmt: skip


class TaxonTerms(NamedTuple):
    """A taxon as the publishing formats write it."""

    scientific_name: str
    #: ``taxon_id_uri``: its GBIF page, else its LSID, else its source's id ("" for none).
    taxon_id: str
    rank: Rank
    #: The names of its ancestors (and its own) at the higher ranks, by rank.
    higher: dict[Rank, str]
    #: Vernacular names by ISO 639-3 language code.
    vernacular: dict[str, str]

    @property
    def english_name(self) -> str:
        """Its English vernacular name ("" for none)."""
        return self.vernacular.get("eng", "")


def taxon_terms(taxon: Taxon, taxa: Mapping[int, Taxon]) -> TaxonTerms:
    """``taxon`` as the formats write it; ``taxa`` holds its ancestors (those missing are
    left out)."""
    higher: dict[Rank, str] = {}
    for ancestor in [*(taxa.get(i) for i in taxon.lineage), taxon]:
        if ancestor is not None and ancestor.rank in HIGHER_RANKS:
            higher[ancestor.rank] = ancestor.scientific_name
    return TaxonTerms(
        taxon.scientific_name,
        taxon.taxon_id_uri or "",
        taxon.rank,
        higher,
        vernacular_names(taxon.vernacular),
    )


def vernacular_names(names: Mapping[str, str]) -> dict[str, str]:
    """Vernacular names by ISO 639-3 code, as Camtrap DP keys them: a two-letter tag becomes
    its three-letter code, a region is dropped (``en-GB``: ``eng``); names in a language
    named by neither (or by none) are left out. The first name of a language counts."""
    found: dict[str, str] = {}
    for tag, name in names.items():
        code = language_code(tag)
        if code and name.strip() and code not in found:
            found[code] = name.strip()
    return found


def language_code(tag: str) -> str | None:
    """The ISO 639-3 code of a language tag, None when it names no language known here."""
    primary = tag.strip().lower().replace("_", "-").split("-", 1)[0]
    if len(primary) == 3 and primary.isalpha() and primary.isascii():
        return primary
    return _ISO_639_3.get(primary)
