"""``ftp``: files of a folder on an FTP or FTPS server.

The source's URL is ``ftp://host[:port]/folder`` or ``ftps://…`` (explicit TLS: ``AUTH TLS``,
then a protected data channel; the certificate is checked against the host name). Folders are
listed with ``MLSD`` where the server offers it (exact sizes and times), else with ``LIST`` in
the usual Unix form. Transfers are passive, and the data connection goes to the address the
control connection reached, never to one the server names (``PASV`` answers are ignored), so
the server cannot point the platform elsewhere. The host is resolved and checked by the
outbound guard, and the connection made to the checked address.
"""

from __future__ import annotations

import ftplib
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from trapline.errors import InvalidInput
from trapline.outbound import OutboundBlocked, refusal
from trapline.sources.base import Entry, Gateway, GatewayConfig, SourceError, join_key

SCHEMES = {"ftp": 21, "ftps": 21}
_SPACES = re.compile(r"\s+")
#: ``LIST`` lines in the Unix form: mode, links, owner, group, size, date (3 fields), name.
_LIST_LINE = re.compile(
    r"^(?P<mode>[-dl])\S{9}\S*\s+\d+\s+\S+\s+\S+\s+(?P<size>\d+)\s+"
    r"(?P<date>\w{3}\s+\d{1,2}\s+[\d:]{4,5})\s(?P<name>.+)$"
)


def server_of(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and folder of an ``ftp://`` or ``ftps://`` URL."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise InvalidInput(f"{url!r} is not a URL ({exc})") from None
    if parts.scheme not in SCHEMES or not host:
        raise InvalidInput(
            f"an ftp source's URL is ftp://host/folder or ftps://host/folder (got {url!r})"
        )
    if parts.username or parts.password:
        raise InvalidInput("give the FTP user and password as credentials, not in the URL")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError:
        raise InvalidInput(f"the port in {url!r} is not a number from 1 to 65535") from None
    folder = unquote(parts.path) or "/"
    return parts.scheme, host, port, folder.rstrip("/") or "/"


class _PinnedTLS(ftplib.FTP_TLS):
    """FTPS whose TLS names the server by its host name, though it connected to an address."""

    server_name = ""

    def auth(self) -> str:
        checked = self.host
        self.host = self.server_name  # SNI and the certificate check use the name
        try:
            return super().auth()
        finally:
            self.host = checked

    def ntransfercmd(
        self, cmd: str, rest: int | str | None = None
    ) -> tuple[socket.socket, int | None]:
        checked = self.host
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)  # noqa: S321
        if self._prot_p:  # type: ignore[attr-defined]
            conn = self.context.wrap_socket(conn, server_hostname=self.server_name)
        self.host = checked
        return conn, size


class FtpGateway(Gateway):
    """Files of a folder on an FTP(S) server; one control connection, used by one thread."""

    kind = "ftp"
    #: Downloads share the control connection, so they go one at a time.
    parallel_downloads = False

    def __init__(self, config: GatewayConfig) -> None:
        super().__init__(config)
        self.scheme, self.host, self.port, self.folder = server_of(config.url)
        self._ftp: ftplib.FTP | None = None

    def close(self) -> None:
        if self._ftp is not None:
            try:
                self._ftp.quit()
            except (OSError, EOFError, ftplib.Error):
                self._ftp.close()
            self._ftp = None

    def _connect(self) -> ftplib.FTP:
        if self._ftp is not None:
            return self._ftp
        try:
            addresses = self.config.policy.check_host(self.host, self.port)
        except OutboundBlocked as exc:
            raise SourceError(exc.detail, transient=False) from None
        except OSError:  # told as a refusal: whether a name resolves is not told
            raise SourceError(refusal(self.host), transient=False) from None
        timeout = self.config.timeout
        ftp: ftplib.FTP
        if self.scheme == "ftps":
            tls = _PinnedTLS(context=ssl.create_default_context(), timeout=timeout)
            tls.server_name = self.host
            ftp = tls
        else:
            ftp = ftplib.FTP(timeout=timeout)  # noqa: S321 - plain FTP is what was asked for
        failure: OSError | None = None
        for address in addresses:
            try:
                ftp.connect(str(address), self.port, timeout=timeout)
                break
            except OSError as exc:
                failure = exc
        else:
            raise SourceError(f"could not connect to {self.host}:{self.port} ({failure})")
        credentials = self.config.credentials
        try:
            if isinstance(ftp, _PinnedTLS):
                ftp.auth()
            ftp.login(credentials.get("username", "anonymous"), credentials.get("password", ""))
            if isinstance(ftp, _PinnedTLS):
                ftp.prot_p()
            ftp.set_pasv(True)
        except ftplib.error_perm as exc:
            ftp.close()
            raise SourceError(
                f"{self.host} refused the login ({_reply(exc)}): check the source's credentials",
                transient=False,
            ) from None
        except ssl.SSLError as exc:
            ftp.close()
            raise SourceError(f"{self.host}: TLS failed ({exc.reason})", transient=False) from None
        except (OSError, EOFError, ftplib.Error) as exc:
            ftp.close()
            raise SourceError(f"{self.host}: the FTP session failed ({exc})") from None
        self._ftp = ftp
        return ftp

    def _walk(self) -> Iterator[Entry]:
        ftp = self._connect()
        yield from self._list(ftp, self.folder, "", 0)

    def _list(self, ftp: ftplib.FTP, path: str, prefix: str, level: int) -> Iterator[Entry]:
        files, folders = self._listing(ftp, path)
        for name in sorted(files):
            size, modified, note = files[name]
            yield Entry(key=join_key(prefix, name), size=size, modified=modified, note=note)
        if level < self.config.depth:
            for name in sorted(folders):
                yield from self._list(ftp, _join(path, name), join_key(prefix, name), level + 1)

    def _listing(
        self, ftp: ftplib.FTP, path: str
    ) -> tuple[dict[str, tuple[int | None, datetime | None, str | None]], list[str]]:
        files: dict[str, tuple[int | None, datetime | None, str | None]] = {}
        folders: list[str] = []
        try:
            for name, facts in ftp.mlsd(path, facts=["type", "size", "modify"]):
                kind = facts.get("type", "").lower()
                if not _plain(name):
                    continue
                if kind == "dir":
                    folders.append(name)
                elif kind == "file":
                    size = facts.get("size", "")
                    files[name] = (
                        int(size) if size.isdigit() else None,
                        _mlsd_time(facts.get("modify")),
                        None,
                    )
            return files, folders
        except ftplib.error_perm as exc:
            if not _reply(exc).startswith(("500", "501", "502", "504")):
                raise SourceError(f"cannot list {path} on {self.host} ({_reply(exc)})") from None
        except (OSError, EOFError, ftplib.Error) as exc:
            raise SourceError(f"listing {path} on {self.host} failed ({exc})") from None
        return self._unix_listing(ftp, path)

    def _unix_listing(
        self, ftp: ftplib.FTP, path: str
    ) -> tuple[dict[str, tuple[int | None, datetime | None, str | None]], list[str]]:
        lines: list[str] = []
        try:
            ftp.retrlines(f"LIST {path}", lines.append)
        except (OSError, EOFError, ftplib.Error) as exc:
            raise SourceError(f"listing {path} on {self.host} failed ({exc})") from None
        files: dict[str, tuple[int | None, datetime | None, str | None]] = {}
        folders: list[str] = []
        for line in lines:
            match = _LIST_LINE.match(line)
            if not match or not _plain(match["name"]):
                continue
            if match["mode"] == "d":
                folders.append(match["name"])
            elif match["mode"] == "-":
                # LIST dates are coarse and zoneless: the text goes into the version as it is.
                files[match["name"]] = (int(match["size"]), None, _SPACES.sub(" ", match["date"]))
        return files, folders

    def _open(self, entry: Entry) -> AbstractContextManager[BinaryIO]:
        return self._retrieve(entry)

    @contextmanager
    def _retrieve(self, entry: Entry) -> Iterator[BinaryIO]:
        ftp = self._connect()
        path = _join(self.folder, entry.where)
        try:
            ftp.voidcmd("TYPE I")  # binary: ASCII mode would rewrite line ends in a photo
            conn = ftp.transfercmd(f"RETR {path}")
        except ftplib.error_perm as exc:
            raise SourceError(f"cannot read {entry.key} ({_reply(exc)})") from None
        except (OSError, EOFError, ftplib.Error) as exc:
            self._drop()
            raise SourceError(f"reading {entry.key} failed ({exc})") from None
        try:
            with conn, conn.makefile("rb") as stream:
                yield stream
            ftp.voidresp()
        except ftplib.Error as exc:
            raise SourceError(f"reading {entry.key} failed ({_reply(exc)})") from None
        except (OSError, EOFError) as exc:
            self._drop()
            raise SourceError(f"reading {entry.key} broke off ({exc})") from None

    def _drop(self) -> None:
        if self._ftp is not None:
            self._ftp.close()
            self._ftp = None


def _plain(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\n" not in name


def _join(folder: str, key: str) -> str:
    return f"{folder.rstrip('/')}/{key}"


def _reply(exc: BaseException) -> str:
    return str(exc.args[0] if exc.args else exc)[:200]


def _mlsd_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


__all__ = ["FtpGateway", "GatewayConfig", "server_of"]
