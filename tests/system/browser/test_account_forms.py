"""A person's account forms in Chromium: they make an API token (shown once, then only its name
and start), revoke it, and change their password, a wrong current one named on its field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.browser import App, sign_in

pytestmark = pytest.mark.slow


def _person(app: App, email: str) -> str:
    """A new person with a random password: that password."""
    made = app.api("POST", "/users/", json={"email": email, "name": email.split("@")[0]})
    assert made.status_code == 201, made.text
    reset = app.api("POST", f"/users/{made.json()['id']}/password")
    assert reset.status_code == 201, reset.text
    return str(reset.json()["password"])


def _as(app: App, token: str) -> int:
    """The status of the API's answer to ``token`` asking who it is."""
    headers = {"Authorization": f"Token {token}"}
    return httpx.get(f"{app.url}/api/v2/users/me", headers=headers, timeout=30).status_code


def _id(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.id)


def test_a_person_makes_a_token_sees_it_once_and_revokes_it(
    page: Any, app: App, request: pytest.FixtureRequest
) -> None:
    email = f"tokens-{_id(request)}@example.org"
    sign_in(page, app, email, _person(app, email))
    account = f"{app.url}/account"
    page.goto(account)
    page.fill("#t-name", "Night counter on the laptop")
    with page.expect_navigation(url=f"{account}/tokens"):
        page.click("button:text('Create token')")
    token = page.inner_text("#new-token").strip()
    assert token.startswith("tl_"), token
    assert _as(app, token) == 200
    row = page.locator("tr", has_text="Night counter on the laptop")
    shown = row.locator("code").inner_text()
    assert shown.endswith("…")
    assert token.startswith(shown[:-1])
    assert len(shown) < len(token) // 2

    # A second token, with no name, is another token: the first still works.
    with page.expect_navigation(url=f"{account}/tokens"):
        page.click("button:text('Create token')")
    second = page.inner_text("#new-token").strip()
    assert second != token
    assert (_as(app, token), _as(app, second)) == (200, 200)

    # Loaded again, the page names the tokens but never shows a secret.
    page.goto(account)
    assert page.locator("#new-token").count() == 0
    content = page.content()
    assert token not in content
    assert second not in content
    assert page.locator("tbody tr").count() == 2

    with page.expect_navigation(url=account):
        page.click("button:text('Revoke Night counter on the laptop')")
    assert _as(app, token) == 401
    assert _as(app, second) == 200
    assert "revoked" in page.locator("tr", has_text="Night counter on the laptop").inner_text()


def test_a_person_changes_their_password_and_a_wrong_current_one_is_named(
    page: Any, app: App, request: pytest.FixtureRequest
) -> None:
    email = f"password-{_id(request)}@example.org"
    first = _person(app, email)
    sign_in(page, app, email, first)
    account = f"{app.url}/account"
    page.goto(account)

    # Too short: the browser says so on the field, and nothing is sent.
    page.fill("#current-password", first)
    page.fill("#new-password", "moths")
    page.click("button:text('Change password')")
    message = page.eval_on_selector("#new-password", "field => field.validationMessage")
    assert "10" in message, message
    assert page.url == account

    # A wrong current password is named on its field; the password is not changed.
    page.fill("#current-password", first + "x")
    page.fill("#new-password", "white sheet under a mercury lamp")
    with page.expect_navigation(url=f"{account}/password"):
        page.click("button:text('Change password')")
    error = page.locator("#current_password-error")
    assert "the current password is not right" in error.inner_text()
    assert page.get_attribute("#current-password", "aria-invalid") == "true"
    assert page.locator("#password-error").count() == 0

    # Given right, the new password is set and every session ends: this one too.
    page.fill("#current-password", first)
    page.fill("#new-password", "white sheet under a mercury lamp")
    with page.expect_navigation(url=f"{app.url}/signin"):
        page.click("button:text('Change password')")
    page.goto(account)
    page.wait_for_url(f"{app.url}/signin**")

    # The old password no longer signs in; the new one does, as typed, spaces and all.
    page.goto(f"{app.url}/signin")
    page.fill("#email", email)
    page.fill("#password", first)
    page.click("button[type=submit]")
    page.wait_for_selector("#signin-error")
    assert page.url.startswith(f"{app.url}/signin")
    sign_in(page, app, email, "white sheet under a mercury lamp")
