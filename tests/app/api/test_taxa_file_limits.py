"""Taxa files past what a file may hold, through the API: a 400 that names the limit and what
was found (never a 500, never a server holding the whole header), and nothing imported."""

from __future__ import annotations

import io

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.taxa_files import META, NAMES_TXT, TAXON_TXT, zip_of


def _import(client: AppClient, owner: Account, project_id: int, data: bytes, name: str) -> object:
    answer = client.post(
        f"/api/v2/projects/{project_id}/taxa",
        files={"file": (name, io.BytesIO(data), "text/csv")},
        headers=owner.headers,
    )
    assert answer.status_code == 400, answer.text
    listed = client.get(f"/api/v2/projects/{project_id}/taxa-list", headers=owner.headers)
    assert listed.json() is None  # nothing imported, no list made
    return answer.json()["detail"]


@pytest.mark.parametrize(
    ("header", "found"),
    [
        # The review's file (a header of a column every two bytes), as large as the tests'
        # request limit allows: 14 MB.
        ("scientific_name,rank" + ",a" * 7_000_000, "7,000,002"),
        # A checklist's header of distinct terms (each would be kept as a string).
        ("scientificName,taxonRank" + "".join(f",t{n:x}" for n in range(2_000_000)), "2,000,002"),
    ],
    ids=["one-letter-columns", "distinct-terms"],
)
def test_a_header_past_the_column_cap_is_a_400_naming_the_cap_and_the_count(
    client: AppClient, owner: Account, project_id: int, header: str, found: str
) -> None:
    detail = _import(client, owner, project_id, f"{header}\nAgrotis,genus\n".encode(), "t.csv")
    assert detail == (
        f"line 1 of the file has {found} columns; a taxa file may have at most 300: leave out "
        "the columns trapline does not read"
    )


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('<core encoding="UTF-8"', '<core encoding="rot13"', "the encoding of taxon.txt is"),
        ('<core encoding="UTF-8"', '<core encoding="base64"', "the encoding of taxon.txt is"),
        ('<core encoding="UTF-8"', '<core encoding="punycode"', "the encoding of taxon.txt is"),
        ('<id index="0"/>', f'<id index="{"9" * 5000}"/>', "the index of <id> must be"),
        ('ignoreHeaderLines="1" rowType', f'ignoreHeaderLines="{"1" * 5000}" rowType',
         "ignoreHeaderLines must be a whole number from 0 to 250,000"),
        # Python 3.13's csv.reader raises ValueError for these two (once a 500).
        ('fieldsEnclosedBy=""', 'fieldsEnclosedBy="&#9;"',
         "fieldsTerminatedBy and fieldsEnclosedBy are both '\\t'"),
        ('<core encoding="UTF-8" fieldsTerminatedBy="\\t"',
         '<core encoding="UTF-8" fieldsTerminatedBy="&#10;"',
         "fieldsTerminatedBy is a line break ('\\n')"),
    ],
    ids=["rot13", "base64", "punycode", "index", "ignoreHeaderLines", "tab-both", "newline"],
)  # fmt: skip
def test_a_meta_xml_past_what_trapline_reads_is_a_400_naming_the_attribute(
    client: AppClient, owner: Account, project_id: int, old: str, new: str, words: str
) -> None:
    meta = META.replace(old, new, 1)
    data = zip_of({"meta.xml": meta, "taxon.txt": TAXON_TXT, "vernacularname.txt": NAMES_TXT})
    detail = _import(client, owner, project_id, data, "dwca.zip")
    assert isinstance(detail, str)
    assert detail.startswith("meta.xml: "), detail
    assert words in detail, detail
