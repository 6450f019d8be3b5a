"""Uploads and files at rest under attack: decode memory, files left behind, blob answers,
file modes and oversized bodies (issue 16)."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn
from PIL import Image

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.blobs import blob_files
from trapline.app import create_app
from trapline.db.engine import Database
from trapline.imaging import limits as decode_limits
from trapline.imaging.limits import DecodeLimits
from trapline.imaging.synthetic import flat_png
from trapline.platform import Platform
from trapline.settings import Settings

MIB = 1024 * 1024


@pytest.fixture
def client_with(settings: Settings, app_db: Database) -> Iterator[Callable[..., AppClient]]:
    """``client_with(max_decode_bytes=...)``: another app on the same database and files."""
    clients: list[AppClient] = []
    platforms: list[Platform] = []

    def make(**changes: object) -> AppClient:
        platforms.append(Platform.from_settings(settings.updated(**changes), db=app_db))
        test_client = AppClient(create_app(platforms[-1]))
        clients.append(test_client.__enter__())
        return test_client

    yield make
    for test_client in clients:
        test_client.__exit__(None, None, None)
    for platform in platforms:
        platform.close()


# Decoded memory


def test_small_pngs_of_huge_pixels_are_refused_unread(
    client: AppClient, settings: Settings, owner: Account, project_id: int
) -> None:
    # The example: ~1 MB files of 9,400 x 9,400 RGBA, 353 MB each once decoded.
    files = [(f"huge-{n}.png", flat_png(9400, 9400, (n, 90, 160, 255))) for n in range(4)]
    body = upload(client, owner, project_id, *files)
    assert body["status"] == 413
    assert body["code"] == "image_too_large"
    assert body["detail"].startswith('"huge-0.png" is too large to decode: its 9400 x 9400')
    assert "save it as a baseline JPEG" in body["detail"]
    assert blob_files(settings) == []


def test_a_large_thumbnail_made_on_demand_is_bounded_too(
    client: AppClient,
    client_with: Callable[..., AppClient],
    owner: Account,
    project_id: int,
) -> None:
    # 2,100 x 2,100 RGBA: 17 MiB decoded, under the default budget, over a 16 MiB one.
    data = flat_png(2100, 2100, (200, 10, 10, 255))
    image_id = upload(client, owner, project_id, ("red.png", data))["results"][0]["id"]
    small = client_with(max_decode_bytes=16 * MIB)
    url = f"/api/v2/images/{image_id}/thumbnail"
    # Made on upload: served without decoding.
    assert small.get(f"{url}?size=256", headers=owner.headers).status_code == 200
    refused = small.get(f"{url}?size=1024", headers=owner.headers)
    assert refused.status_code == 413
    assert refused.json()["detail"].startswith("The stored file is too large to decode")
    assert client.get(f"{url}?size=1024", headers=owner.headers).status_code == 200


def test_decodes_share_the_process_slots(
    client_with: Callable[..., AppClient],
    owner: Account,
    project_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one_slot = client_with(max_concurrent_decodes=1)
    first = upload(one_slot, owner, project_id, ("a.png", flat_png(1200, 900, (1, 2, 3))))
    image_id = first["results"][0]["id"]
    thumbnail = f"/api/v2/images/{image_id}/thumbnail?size=1024"
    monkeypatch.setattr(decode_limits, "SLOT_WAIT_SECONDS", 0)  # give up at once, not in 2 min
    with DecodeLimits(concurrent=1).slot():  # every decode slot of a one-slot process taken
        busy = upload(one_slot, owner, project_id, ("b.png", flat_png(64, 64, (4, 5, 6))))
        assert busy["status"] == 503
        assert busy["code"] == "busy"
        waited = one_slot.get(thumbnail, headers=owner.headers)
        assert waited.status_code == 503
        assert waited.headers["retry-after"] == "5"
    assert (
        upload(one_slot, owner, project_id, ("b.png", flat_png(64, 64, (4, 5, 6))))["status"] == 201
    )
    assert one_slot.get(thumbnail, headers=owner.headers).status_code == 200


# Files left behind


def noisy_png(seed: int, width: int = 1200, height: int = 900) -> bytes:
    """A PNG that takes a moment to decode, so concurrent uploads of it overlap."""
    bands = [Image.effect_noise((width, height), 40 + seed + 5 * band) for band in range(3)]
    buffer = io.BytesIO()
    Image.merge("RGB", bands).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def test_concurrent_identical_uploads_keep_one_copy(
    client: AppClient, settings: Settings, owner: Account, project_id: int
) -> None:
    data = noisy_png(1)
    uploads = 6
    together = threading.Barrier(uploads)

    def send(_: int) -> dict:
        together.wait()
        return upload(client, owner, project_id, ("same.png", data))

    with ThreadPoolExecutor(uploads) as pool:
        bodies = list(pool.map(send, range(uploads)))
    assert [b["status"] for b in bodies] == [201] * uploads
    results = [b["results"][0] for b in bodies]
    assert len({r["id"] for r in results}) == 1
    assert sorted(r["duplicate"] for r in results) == [False] + [True] * (uploads - 1)
    # One original and its thumbnail, named after the row's key; no copy of a losing upload.
    detail = client.get(f"/api/v2/images/{results[0]['id']}", headers=owner.headers).json()
    assert detail["size_bytes"] == len(data)
    files = blob_files(settings)
    assert len(files) == 2, files
    assert files[0].startswith("images/")
    assert files[0].endswith(".png")
    assert files[1] == "thumbnails/" + files[0].removeprefix("images/")[:-4] + "-256.jpg"


def test_a_duplicate_says_which_deployment_holds_the_first_copy(
    client: AppClient, owner: Account, project_id: int
) -> None:
    traps = []
    for name in ("Trap A", "Trap B"):
        made = client.post(
            f"/api/v2/projects/{project_id}/deployments", json={"name": name},
            headers=owner.headers,
        )  # fmt: skip
        assert made.status_code == 201, made.text
        traps.append(made.json()["id"])
    data = noisy_png(2)
    first = upload(client, owner, project_id, ("a.png", data), deployment_id=str(traps[0]))
    assert first["results"][0]["deployment_id"] == traps[0]
    again = upload(client, owner, project_id, ("b.png", data), deployment_id=str(traps[1]))
    (answer,) = again["results"]
    assert (answer["status"], answer["id"]) == ("duplicate", first["results"][0]["id"])
    # The upload moves nothing: the first copy stays, and the answer says where.
    assert (answer["deployment_id"], answer["filename"]) == (traps[0], "a.png")


_REFUSE_IMAGES = {
    # A broken key, as when the project is deleted between the check and the insert.
    ("sqlite", "integrity"): [
        "CREATE TRIGGER refuse BEFORE INSERT ON images"
        " BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END"
    ],
    ("postgres", "integrity"): [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " RAISE EXCEPTION 'refused' USING ERRCODE = 'foreign_key_violation'; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON images FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
    # The database failing the write.
    ("sqlite", "failure"): [
        "CREATE TRIGGER refuse BEFORE INSERT ON images BEGIN INSERT INTO gone VALUES (1); END"
    ],
    ("postgres", "failure"): [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " RAISE EXCEPTION 'refused' USING ERRCODE = 'serialization_failure'; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON images FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


@pytest.mark.parametrize(("fault", "status"), [("integrity", 409), ("failure", 503)])
def test_a_failed_insert_leaves_no_file(
    client: AppClient,
    app_db: Database,
    settings: Settings,
    owner: Account,
    project_id: int,
    jpeg: Callable[..., bytes],
    fault: str,
    status: int,
) -> None:
    known = jpeg(1)
    assert upload(client, owner, project_id, ("known.jpg", known))["status"] == 201
    before = blob_files(settings)
    backend = "sqlite" if app_db.is_sqlite else "postgres"
    with app_db.engine.begin() as connection:
        for statement in _REFUSE_IMAGES[backend, fault]:
            connection.exec_driver_sql(statement)
    body = upload(client, owner, project_id, ("a.jpg", jpeg(2)), ("known.jpg", known))
    assert body["status"] == status, body
    assert blob_files(settings) == before
    listed = client.get(f"/api/v2/projects/{project_id}/images", headers=owner.headers).json()
    assert listed["count"] == 1


# Blob answers


def signed_location(client: AppClient, account: Account, path: str) -> str:
    response = client.get(path, headers=account.headers, follow_redirects=False)
    assert response.status_code == 307, response.text
    return str(response.headers["location"])


def test_blobs_are_served_as_their_checked_type_and_never_sniffed(
    client: AppClient, owner: Account, project_id: int
) -> None:
    image_id = upload(client, owner, project_id, ("a.png", flat_png(300, 200, (1, 2, 3))))[
        "results"
    ][0]["id"]
    original = client.get(signed_location(client, owner, f"/api/v2/images/{image_id}/download"))
    assert original.status_code == 200
    assert original.headers["content-type"] == "image/png"
    assert original.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in original.headers
    thumb_url = f"/api/v2/images/{image_id}/thumbnail?size=1024"
    thumbnail = client.get(signed_location(client, owner, thumb_url))
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.headers["x-content-type-options"] == "nosniff"


def test_other_blobs_are_only_downloaded(client: AppClient) -> None:
    store = client.app.state.platform.store  # type: ignore[attr-defined]
    store.put_bytes("artifacts/1/report.html", b"<script>alert(document.cookie)</script>")
    response = client.get(store.signed_url("artifacts/1/report.html"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == 'attachment; filename="report.html"'
    assert response.headers["x-content-type-options"] == "nosniff"


def test_every_answer_says_nosniff(client: AppClient, owner: Account) -> None:
    answers = [
        client.get("/"),
        client.get("/api/v2/projects"),  # 401
        client.get("/api/v2/projects/999", headers=owner.headers),  # 404
        client.get("/api/v2/blobs/images/x.png?expires=1&sig=00"),  # 403
        client.get("/api/v2/no-such-route"),
    ]
    assert [r.headers.get_list("x-content-type-options") for r in answers] == [["nosniff"]] * 5


def test_a_signed_link_cannot_overwrite_an_original(
    client: AppClient, settings: Settings, owner: Account, project_id: int
) -> None:
    data = flat_png(300, 200, (9, 8, 7))
    image_id = upload(client, owner, project_id, ("a.png", data))["results"][0]["id"]
    link = signed_location(client, owner, f"/api/v2/images/{image_id}/download")
    key = link.split("/api/v2/blobs/", 1)[1].split("?", 1)[0]
    # Signed as upload links were, with the server's own key: the strongest link there was.
    expires = str(int(time.time()) + 600)
    secret = settings.security.resolved_secret_key(settings.server.data_dir)
    sig = hmac.new(secret, f"PUT\n{key}\n{expires}".encode(), hashlib.sha256).hexdigest()
    for url in (f"/api/v2/blobs/{key}?expires={expires}&sig={sig}", link):
        answer = client.put(url, content=b"not the original", headers={"content-type": "image/png"})
        # Only a callback analysis's upload link may write, and only its own artifact key.
        assert answer.status_code == 403, answer.text
    assert client.get(link).content == data


# File modes


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask, under which files would be readable by every local user."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_blobs_are_private_to_the_server_user(
    open_umask: None, client: AppClient, settings: Settings, owner: Account, project_id: int
) -> None:
    image_id = upload(client, owner, project_id, ("a.png", flat_png(300, 200, (1, 1, 1))))[
        "results"
    ][0]["id"]
    client.get(f"/api/v2/images/{image_id}/thumbnail?size=1024", headers=owner.headers)
    root = settings.server.data_dir / "blobs"
    made = [root, *root.rglob("*")]
    assert len([p for p in made if p.is_file()]) == 3  # original, thumbnails 256 and 1024
    assert {str(p.relative_to(settings.server.data_dir)): mode(p) for p in made} == {
        str(p.relative_to(settings.server.data_dir)): 0o600 if p.is_file() else 0o700 for p in made
    }
    assert mode(settings.server.data_dir) == 0o700


def test_a_new_sqlite_database_is_private(open_umask: None, tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    db = Database.from_url(f"sqlite:///{path}")
    try:
        with db.engine.begin() as connection:  # a write: the -wal and -shm files appear
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        files = {p.name: mode(p) for p in tmp_path.iterdir()}
    finally:
        db.dispose()
    assert files == {"fresh.db": 0o600, "fresh.db-wal": 0o600, "fresh.db-shm": 0o600}


def test_the_generated_secret_key_is_private(open_umask: None, tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    key = Settings(data_dir=data_dir, _env_file=None).security.resolved_secret_key(data_dir)
    assert len(key) > 40
    assert mode(data_dir) == 0o700
    assert mode(data_dir.parent) == 0o700
    assert mode(data_dir / "secret-key") == 0o600


# Oversized bodies

#: Bytes of the kernel's socket buffers on each side of the oversized-body tests.
SOCKET_BUFFER = 64 * 1024


@pytest.fixture
def live_url(platform: Platform) -> Iterator[str]:
    """A real uvicorn server on loopback, in a thread, over the test's database."""
    listener = socket.socket()
    # Small buffers (accepted sockets inherit them), so what the client has sent is close to
    # what the server has read, not megabytes parked in the kernel.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # connections queue from now on: no need to wait for the server
    config = uvicorn.Config(create_app(platform), log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


class Body:
    """A multipart body of ``files`` files of ``file_bytes`` each, made as it is sent."""

    def __init__(self, files: int, file_bytes: int) -> None:
        self.files, self.file_bytes = files, file_bytes
        self.sent = 0
        self.finished = False

    @property
    def size(self) -> int:
        return sum(map(len, self._pieces()))

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._pieces():
            self.sent += len(piece)
            yield piece
        self.finished = True

    def _pieces(self) -> Iterator[bytes]:
        for number in range(self.files):
            yield (
                b"--B\r\nContent-Disposition: form-data; name=files;"
                b' filename="f%d.png"\r\nContent-Type: image/png\r\n\r\n' % number
            )
            for _ in range(0, self.file_bytes, 64 * 1024):
                yield b"\0" * min(64 * 1024, self.file_bytes)
            yield b"\r\n"
        yield b"--B--\r\n"


def send(url: str, account: Account, body: Body, **headers: str) -> httpx.Response:
    buffer = [(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)]
    with httpx.Client(timeout=60, transport=httpx.HTTPTransport(socket_options=buffer)) as http:
        return http.post(
            url,
            content=iter(body),
            headers={
                **account.headers,
                "Content-Type": "multipart/form-data; boundary=B",
                **headers,
            },
        )


@pytest.fixture
def upload_url(live_url: str, owner: Account) -> str:
    made = httpx.post(f"{live_url}/api/v2/projects", json={"name": "p"}, headers=owner.headers)
    return f"{live_url}/api/v2/projects/{made.json()['id']}/images"


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
def test_a_body_over_the_request_limit_is_refused_unread(
    upload_url: str, settings: Settings, owner: Account, declared: bool
) -> None:
    # 16 files of 4 MiB: each under the 5 MiB file limit, 64 MiB over the 20 MiB request one.
    body = Body(16, 4 * MIB)
    length = {"Content-Length": str(body.size)} if declared else {}
    answer = send(upload_url, owner, body, **length)
    assert answer.status_code == 413
    assert answer.json()["detail"].startswith("request body is larger than the 20971520 byte")
    assert answer.headers["connection"] == "close"
    assert not body.finished
    assert body.sent < settings.http.max_request_bytes + 2 * MIB


def test_one_file_over_the_file_limit_is_refused_by_name_and_the_others_are_kept(
    upload_url: str, settings: Settings, owner: Account, jpeg: Callable[..., bytes]
) -> None:
    # A 16 MiB file: under the 20 MiB request limit, over the 5 MiB limit for one file.
    good = jpeg(1)
    files = [
        ("files", ("good.jpg", good, "image/jpeg")),
        ("files", ("huge.png", b"\x89PNG" + b"\0" * 16 * MIB, "image/png")),
    ]
    answer = httpx.post(upload_url, files=files, headers=owner.headers, timeout=60)
    assert answer.status_code == 201, answer.text
    kept, refused = answer.json()["results"]
    assert (kept["status"], kept["filename"]) == ("created", "good.jpg")
    assert (refused["status"], refused["filename"]) == ("refused", "huge.png")
    assert refused["reason"] == '"huge.png" is larger than the 5242880 byte limit for one file'
    assert answer.json()["created"] == 1
    # Alone, it is the answer's error, still by name.
    alone = httpx.post(upload_url, files=files[1:], headers=owner.headers, timeout=60)
    assert alone.status_code == 413, alone.text
    assert alone.json()["detail"].startswith('"huge.png" is larger than')
