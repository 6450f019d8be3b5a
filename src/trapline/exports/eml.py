"""The dataset's metadata in a Darwin Core Archive: ``eml.xml``, EML 2.1.1 as GBIF's
profile of it reads it (title, people, licence, coverage in space, time and taxa).

People come from the project's contacts: ``creator`` ones are the dataset's creators,
``contact`` ones its contacts, any other role an associated party with that role. EML needs
at least one creator and one contact: without one, the contacts stand in for the creators
and the other way round, and without either the project's name does (the writer notes it).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from trapline.domain.core.records import Contact, Project
from trapline.domain.ecology.choices import STATED

EML_NS = "eml://ecoinformatics.org/eml-2.1.1"
DC_NS = "http://purl.org/dc/terms/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: GBIF's EML profile, which the IPT validates against.
SCHEMA_LOCATION = f"{EML_NS} http://rs.gbif.org/schema/eml-gbif-profile/1.1/eml.xsd"

#: The licences GBIF publishes under, by SPDX id (any case): the legal code's URL and title.
LICENCES = {
    "cc0-1.0": (
        "http://creativecommons.org/publicdomain/zero/1.0/legalcode",
        "Public Domain (CC0 1.0)",
    ),
    "cc-by-4.0": (
        "http://creativecommons.org/licenses/by/4.0/legalcode",
        "Creative Commons Attribution (CC-BY) 4.0",
    ),
    "cc-by-nc-4.0": (
        "http://creativecommons.org/licenses/by-nc/4.0/legalcode",
        "Creative Commons Attribution Non Commercial (CC-BY-NC) 4.0",
    ),
}


@dataclass(frozen=True)
class Coverage:
    """Where, when and what the dataset covers (each part optional)."""

    #: West, east, north, south, in decimal degrees.
    box: tuple[float, float, float, float] | None = None
    first_day: date | None = None
    last_day: date | None = None
    #: (rank, scientific name, English name) of the taxa the occurrences name.
    taxa: Sequence[tuple[str, str, str]] = ()


def licence_url(licence: str) -> str:
    """A licence as a record's ``dcterms:license`` names it: the legal code's URL of a
    licence GBIF knows, else the licence as the project gives it."""
    known = LICENCES.get(licence.strip().lower())
    return known[0] if known else licence.strip()


def eml_document(
    project: Project, created: datetime, coverage: Coverage, counted: Sequence[str] = ()
) -> bytes:
    """``eml.xml`` of a dataset of the project, made at ``created``; ``counted`` (what it
    counts, a line per deployment) is its method."""
    for prefix, uri in (("eml", EML_NS), ("dc", DC_NS), ("xsi", XSI_NS)):
        ET.register_namespace(prefix, uri)
    root = ET.Element(
        f"{{{EML_NS}}}eml",
        {
            f"{{{XSI_NS}}}schemaLocation": SCHEMA_LOCATION,
            "packageId": f"urn:trapline:{project.id}:dataset:{created:%Y%m%dT%H%M%S}",
            "system": "trapline",
            "scope": "system",
            XML_LANG: "eng",
        },
    )
    dataset = ET.SubElement(root, "dataset")
    _text(dataset, "alternateIdentifier", f"urn:trapline:{project.id}")
    _text(dataset, "title", project.name).set(XML_LANG, "eng")
    creators = _people(project.contacts, "creator") or _people(project.contacts, "contact")
    contacts = _people(project.contacts, "contact") or creators
    for person in creators or [Contact(name="", organisation=project.name)]:
        _party(dataset, "creator", person)
    for person in project.contacts:
        if person.role not in ("creator", "contact"):
            _party(dataset, "associatedParty", person, role=person.role)
    _text(dataset, "pubDate", created.date().isoformat())
    _text(dataset, "language", "eng")
    abstract = ET.SubElement(dataset, "abstract")
    for paragraph in _paragraphs(project.description or f"Occurrences of {project.name}"):
        _text(abstract, "para", paragraph)
    if project.licence.strip():
        _rights(dataset, project.licence)
    _coverage(dataset, coverage)
    for person in contacts or [Contact(name="", organisation=project.name)]:
        _party(dataset, "contact", person)
    if counted:
        step = ET.SubElement(ET.SubElement(dataset, "methods"), "methodStep")
        described = ET.SubElement(step, "description")
        _text(described, "para", STATED)
        for line in counted:
            _text(described, "para", line)
    _xml_safe(root)
    ET.indent(root)
    for link in root.iter("ulink"):  # inside a paragraph's text: no indentation
        link.text = None
        for part in link:
            part.tail = None
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text


#: What XML 1.0 cannot hold (control characters but tab and line breaks, lone surrogates, the
#: non-characters U+FFFE and U+FFFF): a reader refuses the whole document for one of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(root: ET.Element) -> None:
    """Take what XML cannot hold out of every text and attribute under ``root`` (a project's
    name or licence may hold it: they are people's text)."""
    for element in root.iter():
        if element.text:
            element.text = _NOT_XML.sub("", element.text)
        if element.tail:
            element.tail = _NOT_XML.sub("", element.tail)
        for key, value in element.attrib.items():
            element.set(key, _NOT_XML.sub("", value))


def _people(contacts: Iterable[Contact], role: str) -> list[Contact]:
    return [c for c in contacts if c.role == role]


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _party(parent: ET.Element, tag: str, person: Contact, *, role: str | None = None) -> None:
    """A responsible party: a person's name (given names, then the last word as the surname),
    organisation and email."""
    party = ET.SubElement(parent, tag)
    words = person.name.split()
    if words:
        name = ET.SubElement(party, "individualName")
        if len(words) > 1:
            _text(name, "givenName", " ".join(words[:-1]))
        _text(name, "surName", words[-1])
    if person.organisation or not words:
        _text(party, "organizationName", person.organisation or "unnamed")
    if person.email:
        _text(party, "electronicMailAddress", person.email)
    if role is not None:
        _text(party, "role", role)


def _paragraphs(text: str) -> list[str]:
    found = [" ".join(p.split()) for p in text.replace("\r\n", "\n").split("\n\n")]
    return [p for p in found if p] or [text.strip()]


def _rights(dataset: ET.Element, licence: str) -> None:
    """The licence: a link to the legal code of one GBIF knows, else the text as given."""
    para = ET.SubElement(ET.SubElement(dataset, "intellectualRights"), "para")
    known = LICENCES.get(licence.strip().lower())
    url, title = known if known else (licence.strip(), licence.strip())
    if not url.startswith(("http://", "https://")):
        para.text = licence.strip()
        return
    para.text = "This work is licensed under a "
    link = ET.SubElement(para, "ulink", {"url": url})
    _text(link, "citetitle", title)
    link.tail = " License."


def _coverage(dataset: ET.Element, coverage: Coverage) -> None:
    if coverage.box is None and coverage.first_day is None and not coverage.taxa:
        return
    element = ET.SubElement(dataset, "coverage")
    if coverage.box is not None:
        geographic = ET.SubElement(element, "geographicCoverage")
        _text(geographic, "geographicDescription", "The deployments' locations")
        bounds = ET.SubElement(geographic, "boundingCoordinates")
        for tag, value in zip(("west", "east", "north", "south"), coverage.box, strict=True):
            _text(bounds, f"{tag}BoundingCoordinate", f"{value:.6f}")
    if coverage.first_day is not None and coverage.last_day is not None:
        dates = ET.SubElement(ET.SubElement(element, "temporalCoverage"), "rangeOfDates")
        for tag, day in (("beginDate", coverage.first_day), ("endDate", coverage.last_day)):
            _text(ET.SubElement(dates, tag), "calendarDate", day.isoformat())
    if coverage.taxa:
        taxonomic = ET.SubElement(element, "taxonomicCoverage")
        for rank, name, common in coverage.taxa:
            classification = ET.SubElement(taxonomic, "taxonomicClassification")
            _text(classification, "taxonRankName", rank)
            _text(classification, "taxonRankValue", name)
            if common:
                _text(classification, "commonName", common)
