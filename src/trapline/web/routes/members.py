"""A project's members (managers change them), and each person's own tokens and sessions."""

from __future__ import annotations

from starlette.responses import Response

from trapline.domain.core.roles import Role
from trapline.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from trapline.http.params import Id
from trapline.services.core import accounts, users
from trapline.services.photos import projects
from trapline.web.forms import one_line
from trapline.web.pages import Page, PostedForm, SignedIn
from trapline.web.routes import page_router

router = page_router()


def _members(page: Page, project_id: int, *, status: int = 200, **extra: object) -> Response:
    project, role = projects.get_project(page.db, page.me, project_id)
    context: dict[str, object] = {"errors": {}, "values": {}, **extra}
    return page.render(
        "members.html",
        status=status,
        project=project,
        role=role,
        members=projects.list_members(page.db, page.me, project_id),
        roles=[r.value for r in Role],
        can_manage=role.allows(Role.MANAGER),
        **context,
    )


@router.get("/projects/{project_id}/members")
def member_list(page: SignedIn, project_id: Id) -> Response:
    """Who belongs to the project, and their roles."""
    return _members(page, project_id)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput("role: one of viewer, member, manager, owner", field="role") from None


@router.post("/projects/{project_id}/members")
def set_member(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Add a person by email, or change a member's role (managers)."""
    values = {"email": str(form.get("email") or ""), "role": str(form.get("role") or "")}
    try:
        email = one_line(values["email"], "email", limit=254)
        projects.set_member(page.db, page.me, project_id, email, _role(values["role"]))
    except (InvalidInput, Conflict, NotFound) as exc:
        if isinstance(exc, NotFound) and exc.code != "no_such_person":
            raise  # the project itself: the page's own 404
        field = "role" if isinstance(exc, InvalidInput) and exc.field == "role" else "email"
        return _members(page, project_id, status=400, errors={field: exc.detail}, values=values)
    return page.redirect(f"/projects/{project_id}/members")


@router.post("/projects/{project_id}/members/{user_id}/remove")
def remove_member(page: SignedIn, project_id: Id, user_id: Id, _: PostedForm) -> Response:
    """Take a member out of the project (managers)."""
    projects.remove_member(page.db, page.me, project_id, user_id)
    return page.redirect(f"/projects/{project_id}/members")


def _account(page: Page, *, status: int = 200, **extra: object) -> Response:
    context: dict[str, object] = {"errors": {}, "new_token": None, **extra}
    return page.render(
        "account.html",
        status=status,
        tokens=users.list_tokens(page.db, page.me),
        sessions=accounts.list_sessions(page.db, page.me),
        **context,
    )


@router.get("/account")
def account(page: SignedIn) -> Response:
    """Your API tokens and your signed-in sessions."""
    return _account(page)


@router.post("/account/tokens")
def create_token(page: SignedIn, form: PostedForm) -> Response:
    """A new API token, shown once on the page that answers."""
    try:
        name = one_line(str(form.get("name") or ""), "name", required=False, limit=200)
    except InvalidInput as exc:
        return _account(page, status=400, errors={"name": exc.detail})
    made = users.create_token(page.db, page.me, name)
    return _account(page, new_token=made.secret)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(page: SignedIn, token_id: Id, _: PostedForm) -> Response:
    """Revoke one of your tokens."""
    users.revoke_token(page.db, page.me, token_id)
    return page.redirect("/account")


@router.post("/account/sessions/{session_id}/end")
def end_session(page: SignedIn, session_id: Id, _: PostedForm) -> Response:
    """Sign one of your sessions out (another browser, say)."""
    accounts.end_session(page.db, page.me, session_id)
    return page.redirect("/account")


@router.post("/account/password")
def change_password(page: SignedIn, form: PostedForm) -> Response:
    """Choose a new password, giving the current one; every session, this one included, ends."""
    current = str(form.get("current_password") or "")
    password = str(form.get("password") or "")
    try:
        accounts.change_own_password(page.db, page.me, current, password)
    except NotAuthenticated as exc:
        return _account(page, status=400, errors={"current_password": exc.detail})
    except InvalidInput as exc:
        return _account(page, status=400, errors={"password": exc.detail})
    return page.redirect("/signin")
