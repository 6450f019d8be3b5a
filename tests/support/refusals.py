"""Error answers checked for what they must say: status, exactly {detail, code}, and the words."""

from __future__ import annotations

import httpx


def refusal_problem(
    response: httpx.Response, status: int | tuple[int, ...], *words: str
) -> str | None:
    """What is wrong with an answer that should be a ``status`` error naming ``words``."""
    allowed = status if isinstance(status, tuple) else (status,)
    if response.status_code not in allowed:
        wanted = " or ".join(str(s) for s in allowed)
        return f"got {response.status_code}, expected {wanted}: {response.text[:300]}"
    try:
        body = response.json()
    except ValueError:
        return f"the body is not JSON: {response.text[:300]}"
    if not isinstance(body, dict) or set(body) != {"detail", "code"}:
        return f"the body is not exactly {{detail, code}}: {body}"
    missing = [word for word in words if word not in str(body["detail"])]
    if missing:
        return f"the detail {body['detail']!r} does not name {missing}"
    return None


def refused(response: httpx.Response, status: int, *words: str) -> str:
    """The detail of an error answer, after checking its status, its shape and its words."""
    problem = refusal_problem(response, status, *words)
    assert problem is None, problem
    return str(response.json()["detail"])


def answered_as_missing(
    foreign: httpx.Response, absent: httpx.Response, real: int, missing: int
) -> bool:
    """Whether the answer about an object the caller may not see (``real``) is, byte for byte, the
    answer about an id that names nothing (``missing``), with that one id put back.

    The missing id must be long enough to occur nowhere else in its answer (10**9 and up, or an
    offset of the real id by as much); masking the real id instead would also mask any other number
    that happens to be the same, such as a project id of 1 beside an image id of 1."""
    assert missing >= 100_000, "a missing id this short could occur in the answer by chance"
    assert absent.content.count(str(missing).encode()) >= 1, absent.text
    return foreign.content == absent.content.replace(str(missing).encode(), str(real).encode())
