"""The Python client sends its token to its own server alone: a listing's ``next`` link to
another origin is refused, not followed, and a redirect is an error that says so, never a
silent ``None``. The server here is a scripted one on loopback, answering as a misconfigured
or hostile one would."""

from __future__ import annotations

import pytest

from tests.support.scripted import Script, scripted_server
from trapline.client import Client
from trapline.client.errors import ApiError


def test_a_next_link_to_another_origin_is_not_followed() -> None:
    script = Script()
    with scripted_server(script) as elsewhere:
        collector = Script()
        collector.add("/api/v2/projects/", 200, {"results": [], "next": None})
        with scripted_server(collector) as other:
            script.add(
                "/api/v2/projects/",
                200,
                {"results": [{"id": 1}], "next": f"{other}/api/v2/projects/?offset=1000"},
            )
            with Client(elsewhere, "tl_secret") as client:
                pages = client.pages("/projects/")
                assert next(pages) == {"id": 1}
                with pytest.raises(ApiError) as refused:
                    next(pages)
        assert refused.value.code == "foreign_link"
        assert "stayed here" in refused.value.detail
        assert collector.seen == []  # the other server saw nothing, the token least of all


def test_a_next_link_on_the_same_server_is_followed() -> None:
    script = Script()
    with scripted_server(script) as here:
        script.add(
            "/api/v2/projects/",
            200,
            {"results": [{"id": 1}], "next": f"{here}/api/v2/projects/?offset=1000"},
        )
        script.add("/api/v2/projects/", 200, {"results": [{"id": 2}], "next": None})
        with Client(here, "tl_secret") as client:
            assert [p["id"] for p in client.pages("/projects/")] == [1, 2]
    assert [s.headers["Authorization"] for s in script.seen] == ["Token tl_secret"] * 2


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_an_error_that_says_so(status: int) -> None:
    script = Script()
    script.add("/api/v2/projects/", status, b"", {"Location": "https://login.example/"})
    with (
        scripted_server(script) as here,
        Client(here, "tl_secret") as client,
        pytest.raises(ApiError) as raised,
    ):
        client.get("/projects/")
    assert raised.value.status == status
    assert raised.value.code == "redirect"
    assert "https://login.example/" in raised.value.detail
