"""Admins list, read, deactivate users and give them tokens and passwords; nobody else may."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from trapline.db.engine import Database
from trapline.errors import InvalidInput, NotAuthenticated
from trapline.services.core import accounts
from trapline.services.core.passwords import hash_password, verify_password


def test_admin_lists_and_reads_users(client: AppClient, admin: Account, owner: Account) -> None:
    listed = client.get("/api/v2/users/", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    emails = [u["email"] for u in listed.json()["results"]]
    assert {admin.email, owner.email} <= set(emails)
    assert listed.json()["count"] == len(emails)
    one = client.get(f"/api/v2/users/{owner.id}", headers=admin.headers)
    assert one.json()["email"] == owner.email
    assert one.json()["is_active"] is True


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v2/users/"),
        ("get", "/api/v2/users/{id}"),
        ("post", "/api/v2/users/{id}/deactivate"),
        ("post", "/api/v2/users/{id}/activate"),
        ("post", "/api/v2/users/{id}/tokens"),
        ("post", "/api/v2/users/{id}/password"),
    ],
)
def test_only_admins_may(
    client: AppClient, owner: Account, make_account: Callable[..., Account], method: str, path: str
) -> None:
    other = make_account("bob")
    kwargs = {"json": {"name": "x"}} if method == "post" else {}
    answer = client.request(
        method,
        path.format(id=other.id),
        headers=owner.headers,
        **kwargs,  # type: ignore[arg-type]
    )
    assert answer.status_code == 403, answer.text
    assert "only admins" in answer.json()["detail"]


def test_missing_user_is_404(client: AppClient, admin: Account) -> None:
    answer = client.get("/api/v2/users/999999", headers=admin.headers)
    assert answer.status_code == 404
    assert answer.json()["detail"] == "user 999999 not found"


def test_token_for_a_user_is_shown_once_and_works(
    client: AppClient, admin: Account, make_account: Callable[..., Account]
) -> None:
    ann = make_account("ann")
    made = client.post(
        f"/api/v2/users/{ann.id}/tokens", json={"name": "given"}, headers=admin.headers
    )
    assert made.status_code == 201, made.text
    secret = made.json()["token"]
    me = client.get("/api/v2/users/me", headers={"Authorization": f"Token {secret}"})
    assert me.json()["email"] == ann.email
    # The admin cannot read it again: the user's list shows only prefixes.
    listed = client.get("/api/v2/tokens/", headers={"Authorization": f"Token {secret}"})
    assert all("token" not in t for t in listed.json()["results"])


def test_deactivated_user_tokens_and_sessions_stop_working(
    client: AppClient, admin: Account, make_account: Callable[..., Account], app_db: Database
) -> None:
    ann = make_account("ann")
    accounts.set_password(app_db, None, ann.id, "correct horse battery")
    signed = accounts.sign_in(
        app_db, ann.email, "correct horse battery", lifetime=timedelta(hours=1)
    )
    assert accounts.session_user(app_db, signed.secret)[0].id == ann.id
    assert client.get("/api/v2/users/me", headers=ann.headers).status_code == 200

    off = client.post(f"/api/v2/users/{ann.id}/deactivate", headers=admin.headers)
    assert off.status_code == 200, off.text
    assert off.json()["is_active"] is False
    assert client.get("/api/v2/users/me", headers=ann.headers).status_code == 401
    with pytest.raises(NotAuthenticated):
        accounts.session_user(app_db, signed.secret)
    with pytest.raises(NotAuthenticated):
        accounts.sign_in(app_db, ann.email, "correct horse battery", lifetime=timedelta(hours=1))
    refused = client.post(f"/api/v2/users/{ann.id}/tokens", json={}, headers=admin.headers)
    assert refused.status_code == 400

    on = client.post(f"/api/v2/users/{ann.id}/activate", headers=admin.headers)
    assert on.json()["is_active"] is True
    assert client.get("/api/v2/users/me", headers=ann.headers).status_code == 200
    # The sessions ended by the deactivation stay ended.
    with pytest.raises(NotAuthenticated):
        accounts.session_user(app_db, signed.secret)


def test_admin_cannot_deactivate_themselves(client: AppClient, admin: Account) -> None:
    answer = client.post(f"/api/v2/users/{admin.id}/deactivate", headers=admin.headers)
    assert answer.status_code == 400
    assert client.get("/api/v2/users/me", headers=admin.headers).status_code == 200


def test_reset_password_is_shown_once_and_signs_in(
    client: AppClient, admin: Account, make_account: Callable[..., Account], app_db: Database
) -> None:
    ann = make_account("ann")
    answer = client.post(f"/api/v2/users/{ann.id}/password", headers=admin.headers)
    assert answer.status_code == 201, answer.text
    password = answer.json()["password"]
    signed = accounts.sign_in(app_db, ann.email, password, lifetime=timedelta(hours=1))
    assert signed.user.id == ann.id
    # A second reset ends the sessions the first password opened.
    client.post(f"/api/v2/users/{ann.id}/password", headers=admin.headers)
    with pytest.raises(NotAuthenticated):
        accounts.session_user(app_db, signed.secret)


def test_sign_in_refuses_wrong_password_unknown_email_and_service_accounts(
    app_db: Database, make_account: Callable[..., Account]
) -> None:
    ann = make_account("ann")
    accounts.set_password(app_db, None, ann.id, "a long enough one")
    for email, password in [
        (ann.email, "a long enough two"),
        ("nobody@example.org", "a long enough one"),
    ]:
        with pytest.raises(NotAuthenticated) as caught:
            accounts.sign_in(app_db, email, password, lifetime=timedelta(hours=1))
        assert caught.value.detail == accounts.WRONG_CREDENTIALS
    signed = accounts.sign_in(app_db, ann.email.upper(), "a long enough one", lifetime=timedelta(1))
    accounts.sign_out(app_db, signed.secret)
    with pytest.raises(NotAuthenticated):
        accounts.session_user(app_db, signed.secret)


def test_passwords_are_argon2id_and_bounded() -> None:
    stored = hash_password("a long enough one")
    assert stored.startswith("$argon2id$")
    assert "a long enough one" not in stored
    assert verify_password(stored, "a long enough one")
    assert not verify_password(stored, "a long enough two")
    assert not verify_password(None, "a long enough one")
    with pytest.raises(InvalidInput, match="10 to 256"):
        hash_password("short")
