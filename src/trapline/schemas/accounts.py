"""Bodies of accounts and their API tokens."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StringConstraints, field_validator

from trapline.domain.core.records import ApiToken, User
from trapline.schemas.common import Input, Instant, Label

#: What ``str.strip`` takes off: the blanks an address may come with around it. Spelled out, as
#: ``\s`` means other characters in other engines: ECMA-262's (JSON Schema's) leaves out U+0085
#: and takes U+FEFF, Python's and Rust's (pydantic's) the other way round.
_BLANKS = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: A character of an address: no blank, "@", control character (C0, C1) or byte-order mark.
_ADDRESS_CHAR = rf"[^@{_BLANKS}\x00-\x1f\x7f-\x9f\ufeff]"
_EMAIL = re.compile(rf"^{_ADDRESS_CHAR}+@{_ADDRESS_CHAR}+$")


#: Longest email address (RFC 5321; the column holds 254 characters).
MAX_EMAIL = 254


def clean_email(value: str) -> str:
    """``value`` stripped and lower-cased; ValueError if it is not an email address."""
    value = value.strip().lower()
    if not _EMAIL.match(value) or len(value) > MAX_EMAIL:
        raise ValueError("not an email address")
    return value


#: An email address, stripped and lower-cased.
Email = Annotated[
    str,
    StringConstraints(
        max_length=MAX_EMAIL, pattern=rf"^[{_BLANKS}]*{_EMAIL.pattern[1:-1]}[{_BLANKS}]*$"
    ),
]


class UserIn(Input):
    email: Email
    name: Label = ""
    is_admin: StrictBool = False

    _check_email = field_validator("email")(clean_email)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    is_admin: bool
    created_at: Instant
    #: False once an admin deactivated the account: its tokens and sessions no longer work.
    is_active: bool = True
    #: A processing service's account (works only as a worker).
    is_service: bool = False

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            is_admin=user.is_admin,
            created_at=user.created_at,
            is_active=user.is_active,
            is_service=user.is_service,
        )


class PasswordOut(BaseModel):
    #: The new password; shown only in this answer.
    password: str


class TokenIn(Input):
    name: Label = ""


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: Instant
    last_used_at: Instant | None
    revoked_at: Instant | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class NewTokenOut(TokenOut):
    token: str = Field(description="the secret; shown only in this answer")
