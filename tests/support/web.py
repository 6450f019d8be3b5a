"""A person in the web app: signed in through the form with their own cookies, and the CSRF token
a page carries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from argon2 import PasswordHasher

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from trapline.app import create_app
from trapline.platform import Platform

#: The password every test person signs in with.
PASSWORD = "a long test password"

#: Its stored form, hashed once with argon2id's cheapest parameters: a hash carries its
#: parameters, so each sign-in checks it in a millisecond instead of the ~0.1 s (two cores)
#: of the real ones, which the tests of passwords themselves go through.
CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)

_CSRF = re.compile(r'name="csrf-token" content="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page carries."""
    found = _CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@dataclass
class Browser:
    """A person's own cookie jar on the app, signed in through the form."""

    client: AppClient
    account: Account

    @property
    def platform(self) -> Platform:
        """The platform behind the app (its runners, to wait for background work)."""
        platform: Platform = self.client.app.state.platform  # type: ignore[attr-defined]
        return platform

    def page(self, path: str, status: int = 200) -> str:
        answer = self.client.get(path, follow_redirects=False)
        assert answer.status_code == status, (path, answer.status_code, answer.text[:500])
        return answer.text

    def csrf(self, path: str = "/projects") -> str:
        return csrf_of(self.page(path))

    def post(self, path: str, data: dict[str, str], *, csrf_from: str = "/projects") -> object:
        return self.client.post(
            path, data={"csrf": self.csrf(csrf_from), **data}, follow_redirects=False
        )


def table(html: str, table_id: str) -> list[list[str]]:
    parser = _Tables(table_id)
    parser.feed(html)
    return [row for row in parser.rows if row]


class _Tables(HTMLParser):
    """The cells' text of every row of one table, by its id."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside = table_id, False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", self.table_id) in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif self.inside and tag == "td" and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def signed_in(platform: Platform, account: Account) -> Browser:
    """A new client of ``platform``'s app for ``account`` (whose password hash is
    ``CHEAP_HASH``), signed in through the form; the caller closes its client."""
    client = AppClient(create_app(platform))
    client.__enter__()
    token = csrf_of(client.get("/signin").text)
    answer = client.post(
        "/signin",
        data={"csrf": token, "email": account.email, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return Browser(client, account)
