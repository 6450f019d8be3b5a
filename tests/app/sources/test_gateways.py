"""The gateway contract: the same tests over every kind of source and listing format."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from trapline.sources import open_gateway
from trapline.sources.base import Entry, Gateway, SourceError


def listing(site: Any, **options: Any) -> dict[str, Entry]:
    with open_gateway(site.kind, site.config(**options)) as gateway:
        return {e.key: e for e in gateway.entries()}


def content(gateway: Gateway, entry: Entry) -> bytes:
    with gateway.fetch(entry) as stream:
        return stream.read()


def test_lists_images_of_the_folder(site: Any) -> None:
    site.put("20240621220000.jpg", b"jpeg one")
    site.put("b.PNG", b"png two")
    site.put("notes.txt", b"not an image")
    found = listing(site)
    assert sorted(found) == ["20240621220000.jpg", "b.PNG"]
    assert all(e.version for e in found.values())


def test_folders_are_followed_to_the_depth_asked(site: Any) -> None:
    site.put("top.jpg", b"top")
    site.put("2024-06-21/a.jpg", b"night one")
    site.put("2024-06-21/late/b.jpg", b"deeper")
    assert sorted(listing(site)) == ["top.jpg"]
    assert sorted(listing(site, depth=1)) == ["2024-06-21/a.jpg", "top.jpg"]
    assert sorted(listing(site, depth=2)) == [
        "2024-06-21/a.jpg",
        "2024-06-21/late/b.jpg",
        "top.jpg",
    ]


def test_globs_take_and_leave_files(site: Any) -> None:
    for key in ("a.jpg", "a.jpeg", "thumb_a.jpg", "night/c.jpg", "x.raw"):
        site.put(key, key.encode())
    assert sorted(listing(site, include=("*.jpg",), exclude=("thumb_*",), depth=1)) == [
        "a.jpg",
        "night/c.jpg",
    ]
    assert sorted(listing(site, include=("*.raw", "night/*"), depth=1)) == ["night/c.jpg", "x.raw"]


def test_fetch_gives_the_bytes(site: Any) -> None:
    site.put("night/a b+c.jpg", b"\xff\xd8 bytes of a photo")
    with open_gateway(site.kind, site.config(depth=1)) as gateway:
        [entry] = gateway.entries()
        assert entry.key == "night/a b+c.jpg"
        assert content(gateway, entry) == b"\xff\xd8 bytes of a photo"


def test_new_content_under_the_same_name_is_a_new_version(site: Any) -> None:
    site.put("a.jpg", b"first")
    before = listing(site)["a.jpg"].version
    site.put("a.jpg", b"second, longer")
    assert listing(site)["a.jpg"].version != before


def test_a_download_shorter_than_listed_fails(site: Any) -> None:
    site.put("a.jpg", b"the whole photo, long")
    with open_gateway(site.kind, site.config()) as gateway:
        [entry] = gateway.entries()
        if entry.size is None:
            pytest.skip(
                "this listing shows no exact size (an HTTP body cut short is caught by "
                "its Content-Length: test_http_directory.py)"
            )
        site.put("a.jpg", b"cut")
        with pytest.raises(SourceError) as caught:
            content(gateway, entry)
    assert caught.value.transient


def test_a_file_gone_after_listing_fails_then_reads_when_back(site: Any) -> None:
    site.put("a.jpg", b"photo")
    with open_gateway(site.kind, site.config()) as gateway:
        [entry] = gateway.entries()
        site.remove("a.jpg")
        with pytest.raises(SourceError):
            content(gateway, entry)
        site.put("a.jpg", b"photo")
        assert content(gateway, entry) == b"photo"


def test_files_over_the_size_limit_are_refused(site: Any) -> None:
    site.put("big.jpg", b"x" * 5000)
    with open_gateway(site.kind, site.config(max_file_bytes=1000)) as gateway:
        [entry] = gateway.entries()
        with pytest.raises(SourceError) as caught:
            content(gateway, dataclasses.replace(entry, size=None))  # not trusting the listing
    assert caught.value.code == "too_large"


def test_listing_limit(site: Any) -> None:
    for n in range(5):
        site.put(f"{n}.jpg", b"x")
    with pytest.raises(SourceError, match="more than 3 entries"):
        listing(site, max_listing=3)


def test_wrong_credentials_are_reported(site: Any) -> None:
    if not site.credentials or site.kind == "s3":
        pytest.skip("this site asks for no credentials (moto accepts any S3 key)")
    site.put("a.jpg", b"x")
    wrong = {**site.credentials, "password": "wrong"}
    with pytest.raises(SourceError, match="credentials") as caught:
        listing(site, credentials=wrong)
    assert not caught.value.transient


def test_loopback_is_refused_without_the_allow_list(site: Any) -> None:
    if site.kind == "local":
        pytest.skip("a local source makes no network request")
    from trapline.outbound import OutboundPolicy

    site.put("a.jpg", b"x")
    with pytest.raises(SourceError, match=r"does not call 127\.0\.0\.1") as caught:
        listing(site, policy=OutboundPolicy())
    assert not caught.value.transient
