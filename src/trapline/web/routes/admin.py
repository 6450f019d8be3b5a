"""Admin: every user; create, deactivate, reactivate, reset a password."""

from __future__ import annotations

from starlette.responses import Response

from trapline.errors import Conflict, InvalidInput
from trapline.http.params import Id
from trapline.services.core import accounts, users
from trapline.web.forms import one_line
from trapline.web.pages import Offset, Page, PostedForm, SignedIn
from trapline.web.routes import page_router

router = page_router()

PER_PAGE = 100


def _users(page: Page, offset: int = 0, *, status: int = 200, **extra: object) -> Response:
    total, found = accounts.list_users(page.db, page.me, limit=PER_PAGE, offset=offset)
    context: dict[str, object] = {"errors": {}, "values": {}, "new_password": None, **extra}
    return page.render(
        "admin_users.html",
        status=status,
        users=found,
        total=total,
        offset=offset,
        per_page=PER_PAGE,
        **context,
    )


@router.get("/admin/users")
def user_list(page: SignedIn, offset: Offset = 0) -> Response:
    """Every account (admins)."""
    return _users(page, offset)


@router.post("/admin/users")
def create_user(page: SignedIn, form: PostedForm) -> Response:
    """Create a person with a random password, shown once."""
    accounts.require_admin(page.me, "create users")
    values = {"email": str(form.get("email") or ""), "name": str(form.get("name") or "")}
    errors = {}
    try:
        email = one_line(values["email"], "email", limit=254)
        if "@" not in email:
            raise InvalidInput("email: an address like ann@example.org", field="email")
        name = one_line(values["name"], "name", required=False, limit=200)
        user = users.create_user(page.db, page.me, email, name, is_admin=bool(form.get("admin")))
    except (InvalidInput, Conflict) as exc:
        # A clash is an address someone has already.
        field = exc.field if isinstance(exc, InvalidInput) and exc.field else "email"
        errors[field] = exc.detail
        return _users(page, status=400, errors=errors, values=values)
    password = accounts.reset_password(page.db, page.me, user.id)
    return _users(page, new_password=(user.email, password))


@router.post("/admin/users/{user_id}/deactivate")
def deactivate(page: SignedIn, user_id: Id, _: PostedForm) -> Response:
    """Keep an account out: its tokens and sessions stop working."""
    accounts.set_active(page.db, page.me, user_id, False)
    return page.redirect("/admin/users")


@router.post("/admin/users/{user_id}/activate")
def activate(page: SignedIn, user_id: Id, _: PostedForm) -> Response:
    """Let an account in again."""
    accounts.set_active(page.db, page.me, user_id, True)
    return page.redirect("/admin/users")


@router.post("/admin/users/{user_id}/password")
def reset_password(page: SignedIn, user_id: Id, _: PostedForm) -> Response:
    """A new random password for a user, shown once."""
    user = accounts.get_user(page.db, page.me, user_id)
    password = accounts.reset_password(page.db, page.me, user_id)
    return _users(page, new_password=(user.email, password))
