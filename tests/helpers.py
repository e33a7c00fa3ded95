"""Helpers shared by the tests: CSRF tokens and signing in."""

from __future__ import annotations

from httpx import AsyncClient

# Every test account signs in with it.
PASSWORD = "Correct-horse-battery"
CSRF_COOKIE = "portal_csrf"


async def csrf_token(client: AsyncClient) -> str:
    """The CSRF token a page would embed (the cookie's value), fetching a page if needed."""
    if CSRF_COOKIE not in client.cookies:
        await client.get("/login")
    return client.cookies[CSRF_COOKIE]


async def post_form(client: AsyncClient, url: str, data: dict | None = None, **kw):  # type: ignore[no-untyped-def]
    """POST a form the way the browser does, with the page's CSRF token."""
    body = {"_csrf_token": await csrf_token(client), **(data or {})}
    return await client.post(url, data=body, **kw)


async def login(client: AsyncClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    response = await post_form(client, "/login", {"username": username, "password": password})
    assert response.status_code in (302, 303), response.text[:500]
    return response
