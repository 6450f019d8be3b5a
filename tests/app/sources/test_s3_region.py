"""An S3 source's region, through the API against a real S3 server (moto): only AWS region
names are taken, and stored credentials never follow a change of region.

Without an endpoint the region is part of the host requests go to
(``bucket.s3.<region>.amazonaws.com``), so a region such as ``x.example.net#`` would send the
signed requests, and the keys' signatures, to a host of the editor's choosing.
"""

from __future__ import annotations

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.moto import new_bucket, s3_client
from tests.support.sources import create_source, wait_run
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = pytest.mark.s3

KEYS = {"access_key_id": "testing", "secret_access_key": "testing"}


def _run(client: AppClient, owner: Account, source: int) -> dict[str, object]:
    started = client.post(f"/api/v2/sources/{source}/run", headers=owner.headers)
    assert started.status_code == 202, started.text
    return wait_run(client, owner, source, started.json()["id"])


def test_a_region_change_needs_the_credentials_again_and_a_region_is_a_regions_name(
    client: AppClient, owner: Account, project_id: int, s3_endpoint: str
) -> None:
    bucket = new_bucket(s3_endpoint)
    photo = light_trap_jpeg(1, width=96, height=64)
    s3_client(s3_endpoint).put_object(Bucket=bucket, Key="cams/20240621220000.jpg", Body=photo)
    made = create_source(
        client, owner, project_id, name="bucket", kind="s3", url=f"s3://{bucket}/cams",
        endpoint_url=s3_endpoint, credentials=KEYS,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    source = made.json()["id"]
    assert _run(client, owner, source)["imported"] == 1

    # The same region written out keeps the credentials; another one needs them again.
    same = {"url": f"s3://{bucket}/cams?region=us-east-1"}
    kept = client.patch(f"/api/v2/sources/{source}", json=same, headers=owner.headers)
    assert kept.status_code == 200, kept.text
    moved = {"url": f"s3://{bucket}/cams?region=eu-west-1"}
    refused = client.patch(f"/api/v2/sources/{source}", json=moved, headers=owner.headers)
    assert refused.status_code == 400, refused.text
    assert refused.json()["detail"].startswith("give the credentials again"), refused.text
    with_keys = client.patch(
        f"/api/v2/sources/{source}", json={**moved, "credentials": KEYS}, headers=owner.headers
    )
    assert with_keys.status_code == 200, with_keys.text
    later = light_trap_jpeg(2, width=96, height=64)
    s3_client(s3_endpoint).put_object(Bucket=bucket, Key="cams/20240621230000.jpg", Body=later)
    assert _run(client, owner, source)["imported"] == 1  # signed for eu-west-1, still read

    # Whatever else is written there is refused, credentials given or not, and nothing changes.
    for region in (
        "x.example.net#",
        "eu-west-1.example.net",
        "EU-WEST-1",
        "",
        "eu-west-1&region=x",
    ):
        for change in ({}, {"credentials": KEYS}):
            answer = client.patch(
                f"/api/v2/sources/{source}",
                json={"url": f"s3://{bucket}/cams?region={region}", **change},
                headers=owner.headers,
            )
            assert answer.status_code == 400, (region, answer.text)
            assert (
                "region must be one AWS region's name, such as eu-west-1"
                in (answer.json()["detail"])
            )
    kept_url = client.get(f"/api/v2/sources/{source}", headers=owner.headers).json()["url"]
    assert kept_url == moved["url"]


@pytest.mark.parametrize("region", ["us-gov-west-1", "cn-north-1", "ap-southeast-2"])
def test_aws_region_names_are_taken(
    client: AppClient, owner: Account, project_id: int, region: str
) -> None:
    made = create_source(
        client, owner, project_id, name="bucket", kind="s3",
        url=f"s3://cams/trap-a?region={region}", credentials=KEYS,
    )  # fmt: skip
    assert made.status_code == 201, made.text


def test_a_new_source_with_a_host_for_a_region_is_refused(
    client: AppClient, owner: Account, project_id: int
) -> None:
    made = create_source(
        client, owner, project_id, name="bucket", kind="s3",
        url="s3://cams/trap-a?region=evil.example.net%23", credentials=KEYS,
    )  # fmt: skip
    assert made.status_code == 400, made.text
    assert "region must be one AWS region's name" in made.json()["detail"]
