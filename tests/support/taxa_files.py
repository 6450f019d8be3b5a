"""Files of taxa lists as people send them: a Darwin Core checklist's parts, and a zip of files."""

from __future__ import annotations

import io
import zipfile


def zip_of(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


META = r"""<?xml version="1.0" encoding="UTF-8"?>
<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="eml.xml">
  <core encoding="UTF-8" fieldsTerminatedBy="\t" linesTerminatedBy="\n" fieldsEnclosedBy=""
        ignoreHeaderLines="1" rowType="http://rs.tdwg.org/dwc/terms/Taxon">
    <files><location>taxon.txt</location></files>
    <id index="0"/>
    <field index="1" term="http://rs.tdwg.org/dwc/terms/parentNameUsageID"/>
    <field index="2" term="http://rs.tdwg.org/dwc/terms/scientificName"/>
    <field index="3" term="http://rs.tdwg.org/dwc/terms/taxonRank" default="species"/>
    <field term="http://rs.tdwg.org/dwc/terms/kingdom" default="Animalia"/>
  </core>
  <extension encoding="UTF-8" fieldsTerminatedBy="\t" ignoreHeaderLines="1"
             rowType="http://rs.gbif.org/terms/1.0/VernacularName">
    <files><location>vernacularname.txt</location></files>
    <coreid index="0"/>
    <field index="1" term="http://rs.tdwg.org/dwc/terms/vernacularName"/>
    <field index="2" term="http://purl.org/dc/terms/language"/>
  </extension>
</archive>
"""

#: The core file: no quoting, and the species' rank is left to meta.xml's default.
TAXON_TXT = (
    "id\tparent\tname\trank\n"
    "7015\t\tNoctuidae\tfamily\n"
    "1\t7015\tAgrotis\tgenus\n"
    '2\t1\t"Agrotis" ipsilon\t\n'
)

#: Vernacular names: the first of a language is kept.
NAMES_TXT = (
    "id\tname\tlanguage\n"
    "7015\tOwlet moths\ten\n"
    "7015\tNoctuelles\tfr\n"
    "7015\tCutworm moths\ten\n"
    "2\tDark sword-grass\t\n"
)
