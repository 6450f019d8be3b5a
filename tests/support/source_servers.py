"""Real servers for pull-source tests: nginx, Python's http.server, an Apache-style page, FTP.

Each *site* is a place a source reads, with what the tests need to change it: ``put`` a file
(with a modification time that moves on a minute each time, so listings that show minutes
see each change), ``remove`` one, and the ``GatewayConfig`` that reads it. S3 sites live in
``tests/app/sources/conftest.py`` next to the moto server fixture.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.moto import free_port
from tests.support.processes import BIND_ATTEMPTS, port_taken
from trapline.outbound import OutboundPolicy
from trapline.settings import parse_network
from trapline.sources.base import GatewayConfig

#: The policy tests use: loopback allowed, as TRAPLINE_OUTBOUND_ALLOW_NETWORKS=127.0.0.0/8.
LOOPBACK = OutboundPolicy(allow_networks=(parse_network("127.0.0.0/8"),))
#: Seconds a server may take to listen.
STARTUP_TIMEOUT = 30.0
#: Where modification times of files put on sites begin (each put moves a minute on).
EPOCH = datetime(2024, 6, 21, 22, 0, tzinfo=UTC).timestamp()
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
USER, PASSWORD = "station", "s3cret-pass"


def wait_listening(port: int, process: subprocess.Popen[Any] | None = None) -> None:
    """Return once something accepts connections on the loopback port."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {STARTUP_TIMEOUT}s")


@dataclass
class FolderSite:
    """A site whose files live in a folder on this machine."""

    kind: str
    root: Path
    url: str
    credentials: dict[str, str] = field(default_factory=dict)
    local_roots: tuple[Path, ...] = ()
    #: Called after every change (the Apache-style site writes its pages again).
    refresh: Any = None
    _clock: int = 0

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self._clock += 1
        stamp = EPOCH + 60 * self._clock
        os.utime(path, (stamp, stamp))
        self._changed()

    def remove(self, key: str) -> None:
        (self.root / key).unlink()
        self._changed()

    def _changed(self) -> None:
        if self.refresh is not None:
            self.refresh(self.root)

    def config(self, **options: Any) -> GatewayConfig:
        options.setdefault("credentials", self.credentials)
        options.setdefault("policy", LOOPBACK)
        options.setdefault("local_roots", self.local_roots)
        options.setdefault("timeout", 10.0)
        return GatewayConfig(url=self.url, **options)


@contextmanager
def nginx_server(root: Path, workdir: Path) -> Iterator[int]:
    """nginx serving ``root`` with autoindex: HTML at /html/, JSON at /json/, Basic auth at
    /private/ (user ``station``); yields its port. Its configuration names the port, so one
    another process took before nginx bound it is chosen again (``BIND_ATTEMPTS``)."""
    for name in ("client", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / name).mkdir(parents=True, exist_ok=True)
    (workdir / "htpasswd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    conf, errors, pid = workdir / "nginx.conf", workdir / "error.log", workdir / "nginx.pid"
    for attempt in range(1, BIND_ATTEMPTS + 1):
        port = free_port()
        conf.write_text(_nginx_conf(root, workdir, port))
        pid.unlink(missing_ok=True)
        log = (workdir / "nginx.out").open("wb")
        process = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(workdir), "-e", str(errors)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_bound(process, pid)
            wait_listening(port, process)
            break
        except RuntimeError:
            _stop(process)
            log.close()
            said = errors.read_text(errors="replace") if errors.exists() else ""
            if attempt == BIND_ATTEMPTS or not port_taken(said):
                raise
    try:
        yield port
    finally:
        _stop(process)
        log.close()


def _nginx_conf(root: Path, workdir: Path, port: int) -> str:
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""
{user}
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 128; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/client;
  proxy_temp_path {workdir}/proxy;
  fastcgi_temp_path {workdir}/fastcgi;
  uwsgi_temp_path {workdir}/uwsgi;
  scgi_temp_path {workdir}/scgi;
  types {{ image/jpeg jpg jpeg; image/png png; text/plain txt; }}
  server {{
    listen 127.0.0.1:{port};
    location /html/ {{ alias {root}/; autoindex on; }}
    location /json/ {{ alias {root}/; autoindex on; autoindex_format json; }}
    location /private/ {{
      alias {root}/; autoindex on;
      auth_basic "trap station"; auth_basic_user_file {workdir}/htpasswd;
    }}
    location = /away {{ return 302 http://127.0.0.1:{port}/html/; }}
  }}
}}
"""


def _wait_bound(process: subprocess.Popen[Any], pid: Path) -> None:
    """Return once nginx has written its pid file, which it does after binding its port (a
    connection alone could reach another process that took the port first)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}")
        if pid.exists() and pid.read_text().strip() == str(process.pid):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nginx wrote no pid file within {STARTUP_TIMEOUT}s")


def _stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def python_http_server(root: Path) -> Iterator[int]:
    """``python -m http.server`` over ``root``, on the port the system gives it and it names
    once it listens (a free port chosen here first could be taken by another test process's
    server before this one binds it, and this one exit); yields its port."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "-b", "127.0.0.1", "-d", str(root), "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        said = process.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 41234 (http://…"
        found = re.search(r" port (\d+) ", said)
        if found is None:
            raise RuntimeError(f"http.server named no port: {said!r}")
        yield int(found.group(1))
    finally:
        process.terminate()
        process.wait(timeout=10)


def write_apache_pages(root: Path) -> None:
    """An ``index.html`` in every folder, written as Apache's mod_autoindex writes its fancy
    table (icons, a parent link, sort links with a query, dates to the minute, sizes such as
    12K)."""
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        rows = [
            '<tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th>'
            '<th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th>'
            '<th><a href="?C=S;O=A">Size</a></th><th><a href="?C=D;O=A">Description</a></th></tr>',
            '<tr><th colspan="5"><hr></th></tr>',
            '<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td>'
            '<td><a href="../">Parent Directory</a></td><td>&nbsp;</td>'
            '<td align="right">  - </td><td>&nbsp;</td></tr>',
        ]
        for item in sorted(folder.iterdir()):
            if item.name == "index.html":
                continue
            info = item.stat()
            when = datetime.fromtimestamp(info.st_mtime, UTC).strftime("%Y-%m-%d %H:%M")
            name = item.name + ("/" if item.is_dir() else "")
            size = "  - " if item.is_dir() else f"{max(1, info.st_size // 1024)}K"
            icon = "folder.gif" if item.is_dir() else "image2.gif"
            rows.append(
                f'<tr><td valign="top"><img src="/icons/{icon}" alt="[   ]"></td>'
                f'<td><a href="{html.escape(name)}">{html.escape(name)}</a></td>'
                f'<td align="right">{when}  </td><td align="right">{size}</td><td>&nbsp;</td></tr>'
            )
        page = (
            '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<html>\n<head>\n'
            f"<title>Index of /{folder.relative_to(root)}</title>\n</head>\n<body>\n"
            f"<h1>Index of /{folder.relative_to(root)}</h1>\n<table>\n"
            + "\n".join(rows)
            + '\n<tr><th colspan="5"><hr></th></tr>\n</table>\n'
            "<address>Apache/2.4.57 (Debian) Server at 127.0.0.1 Port 80</address>\n"
            "</body></html>\n"
        )
        (folder / "index.html").write_text(page)


@contextmanager
def ftp_server(root: Path, *, mlsd: bool = True, certfile: Path | None = None) -> Iterator[int]:
    """A pyftpdlib server over ``root`` (user ``station``) in a thread; yields its port.

    ``mlsd=False`` answers MLSD with 502, as servers without it do; ``certfile`` makes it an
    FTPS server (explicit TLS).
    """
    with warnings.catch_warnings():  # pyftpdlib imports asyncore, deprecated in 3.11
        warnings.simplefilter("ignore", DeprecationWarning)
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
        from pyftpdlib.servers import FTPServer

    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elr")
    base: type[FTPHandler] = TLS_FTPHandler if certfile else FTPHandler

    class Handler(base):  # type: ignore[valid-type,misc]
        # A wrong password is answered at once, not after pyftpdlib's 3 s delay against guessing.
        auth_failed_timeout = 0

    if not mlsd:

        def no_mlsd(self: Any, path: str) -> None:
            self.respond("502 Command not implemented.")

        Handler.ftp_MLSD = no_mlsd
    Handler.authorizer = authorizer
    if certfile:
        Handler.certfile = str(certfile)
        Handler.tls_control_required = True
        Handler.tls_data_required = True
    server = FTPServer(("127.0.0.1", 0), Handler)
    port = server.socket.getsockname()[1]
    stopping = threading.Event()

    def serve() -> None:
        # One poll at a time, and closed here: closing the sockets from another thread under
        # a running poll made it fail on a closed epoll object.
        try:
            while not stopping.is_set():
                server.serve_forever(timeout=0.1, blocking=False)
        finally:
            server.close_all()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        wait_listening(port)
        yield port
    finally:
        stopping.set()
        thread.join(timeout=10)


def self_signed_certificate(folder: Path) -> Path:
    """A certificate and key (one PEM file) for 127.0.0.1, valid for a day."""
    import ipaddress
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / "ftps.pem"
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


class Station(BaseHTTPRequestHandler):
    """A camera station written by a test: subclasses answer ``do_GET`` with ``answer``."""

    def answer(self, status: int, body: bytes, content_type: str) -> None:
        """Send ``body`` with ``status``."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@contextmanager
def http_serving(
    handler: type[BaseHTTPRequestHandler],
    host: str = "127.0.0.1",
    tls: ssl.SSLContext | None = None,
) -> Iterator[str]:
    """Serve ``handler`` on a free port of ``host``, threaded (over ``tls`` when given); yields
    the server's URL."""
    server = ThreadingHTTPServer((host, 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
