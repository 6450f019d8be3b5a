"""Push-mode processing services: registration by URL, listing, status checks, permissions.

The permission matrix reuses the job matrix's sites and worlds
(``tests.support.permissions_jobs``: every world has a pull-mode service, "farm", and a service
account) and covers every endpoint of the "processing services" router; refused calls must
change nothing and never reach the service.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support import permissions
from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.permissions import generic_path
from tests.support.permissions_jobs import (
    CALLERS,
    OUTSIDERS,
    JobEndpoint,
    JobSites,
    JobWorld,
    Scene,
    build_job_world,
    check_case,
)
from tests.support.protocol import pipeline_config, registration
from tests.support.push_services import FakeService, fake_service, listener
from trapline.background.duties import DutyRunner
from trapline.domain.core.duties import NEVER
from trapline.domain.pipelines.pipelines import ONLINE_WINDOW, push_service_online
from trapline.protocol.base import MAX_PIPELINES, MAX_REGISTRATION_CONTAINERS
from trapline.services.pipelines.service_client import MAX_INFO_BYTES
from trapline.services.pipelines.service_status import online_window
from trapline.settings import Settings, parse_network

API = "/api/v2"
MATRIX_TAGS = {"processing services"}

#: The service the matrix registers; served for the whole module by ``matrix_service``.
_MATRIX_SERVICE = FakeService(name="Matrix push service")


# -- the permission matrix --


@pytest.fixture(scope="module")
def matrix_service() -> Iterator[FakeService]:
    with fake_service(_MATRIX_SERVICE) as served:
        yield served


def _push_name(world: JobWorld) -> str:
    return f"Push farm {world.project} hidden"


def _lists_the_services(scene: Scene, caller: str, response: httpx.Response) -> None:
    listed = [(s["name"], s["mode"], s["pipelines"]) for s in response.json()["results"]]
    assert listed == [(scene.world.farm, "pull", [scene.world.slug])], listed


def _registered(scene: Scene, caller: str, response: httpx.Response) -> None:
    made = response.json()
    assert (made["name"], made["mode"], made["endpoint_url"]) == (
        _push_name(scene.world),
        "push",
        _MATRIX_SERVICE.url,
    )
    assert (made["online"], made["pipelines"], made["created"]) == (True, ["quarter"], True)


ENDPOINTS = [
    JobEndpoint(
        "GET", "/projects/{project}/processing-services", 200, "viewer", shows=_lists_the_services
    ),
    JobEndpoint(
        "POST",
        "/projects/{project}/processing-services",
        201,
        "manager",
        lambda s: {"json": {"name": _push_name(s.world), "endpoint_url": _MATRIX_SERVICE.url}},
        shows=_registered,
    ),
]


@pytest.mark.parametrize(
    ("caller", "endpoint"),
    [
        pytest.param(caller, endpoint, id=f"{caller}-{endpoint}")
        for endpoint in ENDPOINTS
        for caller in CALLERS
    ],
)
def test_permissions(
    job_sites: JobSites,
    backend: str,
    matrix_service: FakeService,
    caller: str,
    endpoint: JobEndpoint,
) -> None:
    world = build_job_world(job_sites.get(backend))
    world = replace(
        world, base=replace(world.base, secrets=(*world.base.secrets, _push_name(world)))
    )
    calls_before = len(matrix_service.calls)

    check_case(world, caller, endpoint, writes=endpoint.method != "GET")

    if endpoint.expected(caller) >= 400:
        assert len(matrix_service.calls) == calls_before, "a refused call reached the service"


def test_matrix_covers_every_endpoint_of_its_router(job_sites: JobSites, backend: str) -> None:
    client = job_sites.get(backend).client
    paths = client.get(f"{permissions.API}/openapi.json").json()["paths"]
    served = {
        (method.upper(), generic_path(path.removeprefix(permissions.API)))
        for path, operations in paths.items()
        for method, operation in operations.items()
        if set(operation.get("tags", ())) & MATRIX_TAGS
    }
    assert served == {(e.method, generic_path(e.path)) for e in ENDPOINTS}
    assert set(CALLERS) >= OUTSIDERS


# -- registration and listing, one project per test --


@pytest.fixture
def allow_networks() -> list[str]:
    """The outbound allow-list: loopback, where the fake services run, so that the project's
    owner (no admin) may register them; tests of the guard parametrize it empty."""
    return ["127.0.0.0/8"]


@pytest.fixture
def settings(settings: Settings, allow_networks: list[str]) -> Settings:
    """No background duties: the tests run status checks themselves."""
    networks = [parse_network(n) for n in allow_networks]
    return settings.updated(duties_enabled=False, outbound_allow_networks=networks)


@pytest.fixture
def service() -> Iterator[FakeService]:
    with fake_service() as served:
        yield served


def register(
    client: AppClient, account: Account, project: int, url: str, name: str = "GPU box"
) -> httpx.Response:
    return client.post(
        f"{API}/projects/{project}/processing-services/",
        json={"name": name, "endpoint_url": url},
        headers=account.headers,
    )


def listed(client: AppClient, account: Account, project: int) -> list[dict[str, Any]]:
    answer = client.get(f"{API}/projects/{project}/processing-services/", headers=account.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["results"])


def test_registering_a_service_registers_the_pipelines_of_its_info(
    client: AppClient, owner: Account, project_id: int, service: FakeService
) -> None:
    answer = register(client, owner, project_id, service.url + "/")

    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["endpoint_url"] == service.url  # without the trailing slash
    assert (made["mode"], made["online"], made["last_error"]) == ("push", True, None)
    assert made["pipelines"] == made["pipelines_created"] == ["quarter"]
    assert set(made["algorithms_created"]) <= {"quarter-det", "quarter-cls"}
    assert service.paths() == ["/info", "/readyz"]
    assert all("authorization" not in {k.lower() for k in c.headers} for c in service.calls)
    pipelines = client.get(f"{API}/projects/{project_id}/pipelines", headers=owner.headers)
    (pipeline,) = pipelines.json()["results"]
    assert pipeline["slug"] == "quarter"
    assert pipeline["online"] is True
    assert [(s["name"], s["endpoint_url"]) for s in pipeline["services"]] == [
        ("GPU box", service.url)
    ]
    (shown,) = listed(client, owner, project_id)
    assert {k: shown[k] for k in ("id", "mode", "endpoint_url", "online", "pipelines")} == {
        "id": made["id"],
        "mode": "push",
        "endpoint_url": service.url,
        "online": True,
        "pipelines": ["quarter"],
    }
    assert shown["last_checked_at"] is not None
    old = client.get(f"{API}/processing-services/?project={project_id}", headers=owner.headers)
    (with_workers,) = old.json()["results"]
    assert (with_workers["endpoint_url"], with_workers["online"]) == (service.url, True)


def test_registering_again_updates_the_same_service(
    client: AppClient, owner: Account, project_id: int, service: FakeService
) -> None:
    first = register(client, owner, project_id, service.url).json()

    again = register(client, owner, project_id, service.url)

    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["created"]) == (first["id"], False)
    assert again.json()["pipelines_created"] == []
    assert [s["id"] for s in listed(client, owner, project_id)] == [first["id"]]


def test_pipelines_the_service_no_longer_offers_are_dropped_from_it(
    client: AppClient, owner: Account, project_id: int, service: FakeService
) -> None:
    register(client, owner, project_id, service.url)
    service.slug = "quarter-two"

    answer = register(client, owner, project_id, service.url)

    assert answer.json()["pipelines"] == ["quarter-two"]


@pytest.mark.parametrize(
    ("info", "code", "says"),
    [
        ((404, {"detail": "Not Found"}), "service_failed", "answered HTTP 404 (the service"),
        ((500, b"<html>oops</html>"), "service_failed", "answered HTTP 500 (the service"),
        (
            (500, {"detail": "db password is hunter2"}),
            "service_failed",
            "answered HTTP 500 (the service failed; its own logs say why)",
        ),
        ((301, b""), "service_failed", "answered HTTP 301 (a redirect"),
        ((200, b"<html>a web page</html>"), "bad_service_answer", "the answer is not JSON"),
        ((200, {"pipelines": []}), "bad_service_answer", "name: Field required"),
        ((200, {"name": "Empty", "pipelines": []}), "bad_service_answer", "lists no pipelines"),
        (
            (
                200,
                {
                    "name": "No labels",
                    "pipelines": [
                        {
                            "name": "n",
                            "slug": "n",
                            "version": 1,
                            "algorithms": [
                                {"name": "c", "key": "c", "task_type": "classification"}
                            ],
                        }
                    ],
                },
            ),
            "bad_service_answer",
            "has no category map",
        ),
    ],
)
def test_a_url_that_is_no_service_gets_a_502_and_registers_nothing(
    client: AppClient,
    owner: Account,
    project_id: int,
    service: FakeService,
    info: tuple[int, Any],
    code: str,
    says: str,
) -> None:
    service.info_answer = info

    answer = register(client, owner, project_id, service.url)

    assert answer.status_code == 502, answer.text
    assert set(answer.json()) == {"detail", "code"}
    assert answer.json()["code"] == code
    assert says in answer.json()["detail"]
    assert f"{service.url}/info" in answer.json()["detail"]
    for remote_text in ("Not Found", "oops", "hunter2"):  # what the service said, never
        assert remote_text not in answer.json()["detail"]
    assert listed(client, owner, project_id) == []


def test_an_unreachable_url_gets_a_502_naming_it(
    client: AppClient, owner: Account, project_id: int
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"

    answer = register(client, owner, project_id, url)

    assert answer.status_code == 502, answer.text
    assert answer.json()["code"] == "service_unreachable"
    assert answer.json()["detail"].startswith(f"could not reach {url}/info")
    assert listed(client, owner, project_id) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"name": "x", "endpoint_url": "ftp://files.example.org"}, "must be an http(s) URL"),
        ({"name": "x", "endpoint_url": "gpu-box:2000"}, "must be an http(s) URL"),
        ({"name": "x", "endpoint_url": "http://:2000"}, "must be an http(s) URL"),
        ({"name": "x", "endpoint_url": "http://gpu-box:99999"}, "must be an http(s) URL"),
        ({"name": "x", "endpoint_url": "http://[::1"}, "must be an http(s) URL"),
        ({"name": "x", "endpoint_url": "http://[::1]:2000]"}, "must be an http(s) URL"),
        ({"name": "x", "endpoint_url": "http://[gpu-box]"}, "must be an http(s) URL"),
        ({"name": "x", "endpoint_url": "http://me:pw@gpu-box"}, "user name or password"),
        ({"name": "x", "endpoint_url": "http://gpu-box/?key=1"}, "no query or fragment"),
        ({"name": "  ", "endpoint_url": "http://gpu-box"}, "name must not be blank"),
        ({"name": "x"}, "endpoint_url is required"),
        ({"endpoint_url": "http://gpu-box"}, "name is required"),
        ({"name": "x", "endpoint_url": "http://gpu-box", "token": "t"}, "token"),
    ],
)
def test_bad_bodies_get_a_400_before_any_call(
    client: AppClient, owner: Account, project_id: int, body: dict[str, Any], says: str
) -> None:
    answer = client.post(
        f"{API}/projects/{project_id}/processing-services", json=body, headers=owner.headers
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid"
    assert says in answer.json()["detail"]


# -- the outbound guard: which addresses the platform calls for whom --

NO_ALLOW_LIST = pytest.mark.parametrize("allow_networks", [pytest.param([], id="no-allow-list")])


@NO_ALLOW_LIST
@pytest.mark.parametrize(
    "spelling",
    [
        "http://127.0.0.1:{port}",
        "http://127.1:{port}",
        "http://2130706433:{port}",
        "http://0x7f000001:{port}",
        "http://[::ffff:127.0.0.1]:{port}",
        "http://[::ffff:7f00:1]:{port}",
        "http://localhost:{port}",
        "http://0.0.0.0:{port}",
        "http://0:{port}",
    ],
)
def test_an_ordinary_account_cannot_make_the_platform_call_loopback(
    client: AppClient, owner: Account, project_id: int, spelling: str
) -> None:
    with listener() as local:
        url = spelling.format(port=httpx.URL(local.url).port)

        answer = register(client, owner, project_id, url)

        assert local.connections() == 0
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "address_not_allowed"
    detail = answer.json()["detail"]
    assert any(kind in detail for kind in ("a loopback address", "an unspecified", "no public"))
    assert "an admin registers" in detail
    assert "TRAPLINE_OUTBOUND_ALLOW_NETWORKS" in detail
    assert listed(client, owner, project_id) == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://169.254.169.254/latest", "is a link-local address"),
        ("http://2852039166/latest", "resolves to no public address"),
        ("http://[::ffff:169.254.169.254]/", "is a link-local address written as IPv6"),
        ("http://[fe80::1]:2000", "is a link-local address"),
        ("http://10.0.0.1:2000", "is a private address"),
        ("http://0177.0.0.1:2000", "is not a URL the server can call"),
    ],
)
def test_addresses_outside_the_allow_list_stay_refused(
    client: AppClient, owner: Account, project_id: int, url: str, says: str
) -> None:
    """Refused before anything is connected to: these addresses are never dialled in tests."""
    answer = register(client, owner, project_id, url)

    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "address_not_allowed"
    assert says in answer.json()["detail"]
    assert listed(client, owner, project_id) == []


@NO_ALLOW_LIST
def test_an_admin_may_register_a_loopback_service(
    client: AppClient, owner: Account, admin: Account, project_id: int, service: FakeService
) -> None:
    answer = register(client, admin, project_id, service.url)

    assert answer.status_code == 201, answer.text
    assert answer.json()["online"] is True
    _check_now(client)  # the status checks call it too: its trust is stored with it
    (shown,) = listed(client, owner, project_id)
    assert (shown["online"], shown["last_error"]) == (True, None)
    assert service.paths() == ["/info", "/readyz", "/readyz"]


@pytest.mark.parametrize("allow_networks", [["127.0.0.1/32"]])
def test_the_allow_list_lets_a_manager_register_a_service_in_it(
    client: AppClient, owner: Account, project_id: int, service: FakeService
) -> None:
    answer = register(client, owner, project_id, service.url)

    assert answer.status_code == 201, answer.text
    _check_now(client)
    (shown,) = listed(client, owner, project_id)
    assert (shown["online"], shown["last_error"]) == (True, None)


@pytest.mark.parametrize("allow_networks", [["127.0.0.1/32"]])
def test_a_redirect_to_a_blocked_address_is_not_followed(
    client: AppClient, owner: Account, project_id: int
) -> None:
    with (
        listener("127.0.0.2") as blocked,  # outside the allow-list
        fake_service(FakeService(redirect_to=blocked.url)) as redirecting,
    ):
        answer = register(client, owner, project_id, redirecting.url)

        assert blocked.connections() == 0
    assert answer.status_code == 502, answer.text
    assert answer.json()["code"] == "service_failed"
    assert (
        "answered HTTP 307 (a redirect, which trapline does not follow" in answer.json()["detail"]
    )
    assert blocked.url not in answer.json()["detail"]
    assert listed(client, owner, project_id) == []


def test_what_a_service_says_with_an_error_is_not_kept_as_its_last_error(
    client: AppClient, owner: Account, project_id: int, service: FakeService
) -> None:
    register(client, owner, project_id, service.url)
    service.ready_answer = (503, {"detail": "connected to postgres://admin:hunter2@10.0.0.7"})

    _check_now(client)

    (shown,) = listed(client, owner, project_id)
    assert shown["online"] is False
    assert shown["last_error"] == (
        f"{service.url}/readyz answered HTTP 503 (the service failed; its own logs say why)"
    )


def test_a_name_taken_by_a_pull_service_is_a_conflict_both_ways(
    client: AppClient, owner: Account, project_id: int, service: FakeService
) -> None:
    pulled = client.post(
        f"{API}/projects/{project_id}/pipelines/",
        json=registration(pipeline_config("sorter"), name="Pull farm"),
        headers=owner.headers,
    )
    assert pulled.status_code == 201, pulled.text

    clash = register(client, owner, project_id, service.url, name="Pull farm")
    assert clash.status_code == 409, clash.text
    assert "pull-mode processing service" in clash.json()["detail"]

    register(client, owner, project_id, service.url, name="Push farm")
    other = client.post(
        f"{API}/projects/{project_id}/pipelines/",
        json=registration(pipeline_config("sorter"), name="Push farm"),
        headers=owner.headers,
    )
    assert other.status_code == 409, other.text
    assert "push-mode processing service" in other.json()["detail"]
    # A worker token can register pull-mode pipelines: it never learns where the service is.
    assert service.url not in other.text
    assert "127.0.0.1" not in other.text


# -- status checks --


def _check_now(client: AppClient) -> None:
    runner: DutyRunner = client.app.state.platform.duties  # type: ignore[attr-defined]
    (duty,) = [d for d in runner.duties if d.name == "service-status"]
    duty.run(NEVER)


def test_status_checks_take_a_service_offline_and_back(
    client: AppClient, owner: Account, project_id: int, service: FakeService
) -> None:
    register(client, owner, project_id, service.url)

    service.ready = False
    _check_now(client)
    (down,) = listed(client, owner, project_id)
    assert (down["online"], down["last_error"]) == (
        False,
        f"{service.url}/readyz answered HTTP 503 (the service failed; its own logs say why)",
    )

    service.ready = True
    _check_now(client)
    (up,) = listed(client, owner, project_id)
    assert (up["online"], up["last_error"]) == (True, None)
    assert up["last_seen_at"] == up["last_checked_at"]


def test_a_service_that_went_away_is_shown_offline_with_the_reason(
    client: AppClient, owner: Account, project_id: int
) -> None:
    with fake_service() as gone:
        register(client, owner, project_id, gone.url)
    _check_now(client)

    (shown,) = listed(client, owner, project_id)

    assert shown["online"] is False
    assert shown["last_error"].startswith(f"could not reach {gone.url}/readyz")


def test_the_server_runs_the_status_checks_and_the_dispatcher_as_duties(
    client: AppClient, settings: Settings
) -> None:
    runner: DutyRunner = client.app.state.platform.duties  # type: ignore[attr-defined]
    intervals = {d.name: d.interval for d in runner.duties}
    assert intervals["service-status"] == settings.push.status_interval
    assert "push-dispatcher" in intervals


def test_a_push_service_is_online_while_its_last_check_passed_recently() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    window = online_window(30.0)
    assert window == max(ONLINE_WINDOW, timedelta(seconds=90))
    assert push_service_online(now - window, None, now, window)
    assert not push_service_online(now - window - timedelta(seconds=1), None, now, window)
    assert not push_service_online(now, "answered HTTP 503", now, window)
    assert not push_service_online(None, None, now, window)
    assert online_window(1.0) == ONLINE_WINDOW


# -- A service's answer is bounded in time and size (review finding 2) --


@NO_ALLOW_LIST
def test_an_info_answer_trickled_slowly_is_cut_off_at_the_deadline_of_the_whole_call(
    client: AppClient, admin: Account, project_id: int, service: FakeService
) -> None:
    # Every byte arrives well within a read's timeout; the whole answer would take 6 s.
    service.info_answer = (200, {"name": "slow", "pipelines": []})
    service.info_trickle = 0.2
    client.app.state.platform.service_client.info_timeout = 1.0  # type: ignore[attr-defined]

    answer = register(client, admin, project_id, service.url)

    assert answer.status_code == 502, answer.text
    assert answer.json()["code"] == "service_timeout"
    assert answer.json()["detail"].startswith(f"{service.url}/info did not answer within 1s")
    assert listed(client, admin, project_id) == []


@NO_ALLOW_LIST
def test_an_info_answer_larger_than_a_registration_is_refused_unread(
    client: AppClient, admin: Account, project_id: int, service: FakeService
) -> None:
    service.info_length = MAX_INFO_BYTES + 1  # declared; the few bytes sent are never read

    answer = register(client, admin, project_id, service.url)

    assert answer.status_code == 502, answer.text
    assert answer.json()["code"] == "bad_service_answer"
    assert f"more than {MAX_INFO_BYTES} bytes" in answer.json()["detail"]


@NO_ALLOW_LIST
def test_an_info_answer_has_the_item_caps_of_a_pull_registration(
    client: AppClient, admin: Account, project_id: int, service: FakeService
) -> None:
    many = [pipeline_config(f"p{n}") for n in range(MAX_PIPELINES + 1)]
    service.info_answer = (200, {"name": "many", "pipelines": many})

    answer = register(client, admin, project_id, service.url)

    assert answer.status_code == 502, answer.text
    assert answer.json()["code"] == "bad_service_answer"
    assert f"at most {MAX_PIPELINES} items" in answer.json()["detail"]


@NO_ALLOW_LIST
def test_an_info_answer_of_too_many_json_objects_is_refused_before_it_is_parsed(
    client: AppClient, admin: Account, project_id: int, service: FakeService
) -> None:
    # Small in bytes, huge once parsed: each {} costs ~70 bytes of memory.
    config = pipeline_config("many")
    config["algorithms"][0]["category_map"] = {
        "labels": ["a"],
        "data": [{} for _ in range(MAX_REGISTRATION_CONTAINERS)],
    }
    service.info_answer = (200, {"name": "many", "pipelines": [config]})

    answer = register(client, admin, project_id, service.url)

    assert answer.status_code == 502, answer.text
    assert answer.json()["code"] == "bad_service_answer"
    assert f"more than {MAX_REGISTRATION_CONTAINERS} JSON objects" in answer.json()["detail"]
    assert listed(client, admin, project_id) == []
