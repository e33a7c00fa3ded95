"""Errors as people and clients see them.

API paths (``/api/``) answer with the contract's JSON shape
``{"error": code, "message": zh-CN text}``; pages answer with a friendly Chinese page.
Nothing ever shows a traceback: unexpected errors are logged and answered with 500.
Input no handler could use is refused before any handler runs: path ids no row can
have, and JSON bodies of another media type or nested too deeply (``JsonBodyRequest``).
"""

from __future__ import annotations

import logging
import math
import sqlite3
from array import array
from itertools import accumulate
from typing import Any

import asyncpg
import redis.exceptions
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    InternalServerException,
    NotAuthorizedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from portal.stores import StoreUnavailable

log = logging.getLogger("portal")

# What Litestar's Request.stream raises when the client goes away before its body has
# arrived (a page left while its fetch was under way): nobody is there to answer and
# nothing went wrong on this side.
CLIENT_GONE = "client disconnected prematurely"

DEFAULTS: dict[int, tuple[str, str]] = {
    HTTP_400_BAD_REQUEST: ("invalid", "请求内容有误。"),
    HTTP_401_UNAUTHORIZED: ("unauthorized", "请先登录。"),
    HTTP_403_FORBIDDEN: ("forbidden", "您没有权限执行此操作。"),
    HTTP_404_NOT_FOUND: ("not_found", "您要找的内容不存在。"),
    HTTP_405_METHOD_NOT_ALLOWED: ("method_not_allowed", "不支持该请求方法。"),
    HTTP_413_REQUEST_ENTITY_TOO_LARGE: ("too_large", "提交的内容过大。"),
    HTTP_429_TOO_MANY_REQUESTS: ("rate_limited", "请求过于频繁，请稍后再试。"),
    HTTP_500_INTERNAL_SERVER_ERROR: ("internal", "服务器出现错误，我们已记录，请稍后再试。"),
    HTTP_503_SERVICE_UNAVAILABLE: ("unavailable", "服务暂时不可用，请稍后再试；本次操作未被记录。"),
}

TITLES = {
    HTTP_400_BAD_REQUEST: "请求有误",
    HTTP_401_UNAUTHORIZED: "请先登录",
    HTTP_403_FORBIDDEN: "无权访问",
    HTTP_404_NOT_FOUND: "页面不存在",
    HTTP_405_METHOD_NOT_ALLOWED: "请求方式有误",
    HTTP_413_REQUEST_ENTITY_TOO_LARGE: "内容过大",
    HTTP_429_TOO_MANY_REQUESTS: "请求过于频繁",
    HTTP_500_INTERNAL_SERVER_ERROR: "服务器错误",
    HTTP_503_SERVICE_UNAVAILABLE: "服务暂时不可用",
}

CSRF_MESSAGE = "页面已过期或请求来源无法验证，请刷新页面后重新提交。"


class Hidden(LookupError):
    """The object does not exist for this user (another bureau's, or none); pages answer
    it as they answer an object that does not exist at all."""


class DomainError(Exception):
    """A request a rule refuses; nothing was changed.

    Services raise one of the kinds below and know nothing of HTTP: ``code`` is the
    contract's machine-readable code, ``message`` the zh-CN text for people. Only
    ``as_http`` decides which status a kind is answered with.
    """

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(DomainError, LookupError):
    """What was asked for does not exist (or is not shown to the asker).

    A ``LookupError`` too: callers outside HTTP (the CLI) catch lookups by that name.
    """

    code = "not_found"


class Invalid(DomainError):
    """The input is wrong; ``errors`` maps form fields to zh-CN messages, if any."""

    code = "invalid"

    def __init__(
        self, message: str, errors: dict[str, str] | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.errors = dict(errors or {})


class Refused(DomainError):
    """The rules do not allow this now (a closed window, a finished step)."""

    code = "forbidden"


class Conflict(DomainError):
    """The request clashes with what is already recorded (done once already)."""

    code = "conflict"


class RateLimited(DomainError):
    """Too many requests; ``retry_after`` says in how many seconds to try again."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Not carried out for now (busy, a service down); retry after ``retry_after`` s."""

    code = "unavailable"

    # Every 503 carries Retry-After; where nothing says how long, a second will do.
    def __init__(self, message: str, retry_after: int = 1, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


# Most specific first: a class may be of one kind only, the base is the fallback.
STATUS_OF_KIND: dict[type[DomainError], int] = {
    NotFound: HTTP_404_NOT_FOUND,
    Invalid: HTTP_400_BAD_REQUEST,
    Refused: HTTP_403_FORBIDDEN,
    Conflict: HTTP_409_CONFLICT,
    RateLimited: HTTP_429_TOO_MANY_REQUESTS,
    Unavailable: HTTP_503_SERVICE_UNAVAILABLE,
    DomainError: HTTP_400_BAD_REQUEST,
}


class ApiError(HTTPException):
    """An error with the contract's code and a zh-CN message (plus optional extra fields)."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail=message, status_code=status_code, headers=headers)
        self.code = code
        self.message = message
        self.extra = extra


def not_found(message: str = "您要找的内容不存在。") -> ApiError:
    return ApiError(HTTP_404_NOT_FOUND, "not_found", message)


def status_of(exc: DomainError) -> int:
    """The HTTP status a refusal is answered with: its kind's."""
    return next(s for kind, s in STATUS_OF_KIND.items() if isinstance(exc, kind))


def retry_headers(exc: DomainError) -> dict[str, str]:
    """``Retry-After`` when the refusal says when to come back, else nothing."""
    retry_after = getattr(exc, "retry_after", None)
    return {"Retry-After": str(retry_after)} if retry_after else {}


def wait_words(seconds: int | str) -> str:
    """How long to wait, as a person says it: ``45 秒``, ``3 分钟``, ``7 小时 12 分钟``."""
    total = max(1, int(seconds))
    if total < 60:
        return f"{total} 秒"
    minutes = math.ceil(total / 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小时" + (f" {minutes} 分钟" if minutes else "")


def with_wait(exc: DomainError) -> str:
    """The refusal's message, and when it says when to come back, how long that is
    (the same figure as its ``Retry-After``)."""
    retry_after = getattr(exc, "retry_after", None)
    if not retry_after:
        return exc.message
    return f"{exc.message}（约 {wait_words(retry_after)}后可以再试。）"


def as_http(exc: DomainError) -> ApiError:
    """The one mapping of a refusal to HTTP: its kind's status, its code and message,
    and ``Retry-After`` when it says when to come back. Pages that re-render a form
    with the refusal use ``status_of`` and ``retry_headers`` alike."""
    return ApiError(status_of(exc), exc.code, exc.message, headers=retry_headers(exc) or None)


# Row ids are PostgreSQL `integer`s (Piccolo's Serial). A path id outside that range
# names no row, and would not even fit the query's parameter (a 500 from asyncpg, and
# from sqlite3 past 64 bits), so it is answered like any unknown id.
MAX_ROW_ID = 2**31 - 1


def unknown_path_ids(request: Request) -> None:
    """Before each handler: an integer path value no row can have is a 404."""
    for value in request.path_params.values():
        if type(value) is int and not -MAX_ROW_ID - 1 <= value <= MAX_ROW_ID:
            raise not_found()


# JSON bodies: every array or object inside another counts one level. The API's bodies
# are flat; the bound keeps the decoder far from Python's recursion limit, where
# `[[[…]]]` a thousand deep (2 KB) would raise RecursionError: a 500 and a traceback.
MAX_JSON_DEPTH = 32
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 and -1 as signed bytes


def nested_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Do ``body``'s arrays and objects nest deeper than ``limit``?

    Exact for valid JSON, and in passes at C speed whatever the body (no Python loop
    over its bytes): escaped backslashes and quotes out, then what lies between quotes,
    then the running sum of the brackets that are left.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(unescaped.split(b'"')[::2])
    steps = array("b", outside_strings.translate(_STEPS, _NOT_BRACKETS))
    return max(accumulate(steps), default=0) > limit


class JsonBodyRequest(Request[Any, Any, Any]):
    """The app's request class: a JSON body is decoded only when it was sent as
    ``application/json`` (in UTF-8) and nests at most ``MAX_JSON_DEPTH`` deep.

    Every handler's JSON ``data`` is decoded through ``json()``, so the rule holds for
    every JSON endpoint. The media type matters beyond tidiness: a ``text/plain`` body
    is one any web page can make a visitor's browser send cross-site without a CORS
    preflight, and the public vote endpoint takes no CSRF token.
    """

    __slots__ = ()

    async def json(self) -> Any:
        media_type, options = self.content_type
        if media_type != MediaType.JSON or options.get("charset", "utf-8").lower() not in {
            "utf-8",
            "utf8",
        }:
            raise ApiError(
                HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                "invalid",
                "请求内容须为 JSON 格式（Content-Type: application/json，UTF-8 编码）。",
            )
        if nested_too_deep(await self.body()):
            raise ApiError(
                HTTP_400_BAD_REQUEST,
                "invalid",
                f"请求内容的嵌套层级过深（最多 {MAX_JSON_DEPTH} 层）。",
            )
        return await super().json()


def wants_json(request: Request) -> bool:
    # The scope's path, not request.url: a malformed Host header (a port "abc") makes
    # the URL unparsable, and the error answer must not fail on it.
    return request.scope["path"].startswith("/api/")


def _describe(exc: HTTPException) -> tuple[str, str, dict[str, Any]]:
    status = exc.status_code
    code, message = DEFAULTS.get(status, ("error", "请求无法完成。"))
    extra: dict[str, Any] = {}
    if isinstance(exc, ApiError):
        return exc.code, exc.message, exc.extra
    detail = str(exc.detail or "")
    if status == HTTP_403_FORBIDDEN and "CSRF" in detail:
        return "csrf_failed", CSRF_MESSAGE, extra
    if isinstance(exc, ValidationException):
        if "JSON" in detail or "decode" in detail.lower():
            message = "请求内容不是有效的 JSON。"
        else:
            message = "请求内容有误，请检查各项填写是否完整、格式是否正确。"
        if isinstance(exc.extra, list):
            fields = [e.get("key") for e in exc.extra if isinstance(e, dict) and e.get("key")]
            if fields:
                extra["fields"] = fields
        return "invalid", message, extra
    if status == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return code, "提交的内容过大，请缩小后重试。", extra
    if status < 500 and detail and not detail.isascii():
        # Our own exceptions carry zh-CN details meant for people.
        message = detail
    return code, message, extra


def error_response(
    request: Request, status: int, code: str, message: str, wait: str | None = None, **extra: Any
) -> Response:
    """The error as the API's JSON or as a page; ``wait`` (seconds, from ``Retry-After``)
    is said on the page: how long to wait before trying again."""
    headers = {}
    if status == HTTP_429_TOO_MANY_REQUESTS and "retry_after" in extra:
        headers["Retry-After"] = str(extra.pop("retry_after"))
        wait = wait or headers["Retry-After"]
    if wants_json(request):
        return Response(
            {"error": code, "message": message, **extra},
            status_code=status,
            media_type=MediaType.JSON,
            headers=headers,
        )
    return Template(
        "errors/error.html",
        context={
            "status": status,
            "title": TITLES.get(status, "出错了"),
            "message": message,
            "code": code,
            "wait": wait_words(wait) if wait and str(wait).isdigit() else None,
        },
        status_code=status,
        headers=headers,
    )


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, NotAuthorizedException) and not wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(path="/login", query_params={"next": target})
    code, message, extra = _describe(exc)
    wait = (exc.headers or {}).get("Retry-After")
    response = error_response(request, exc.status_code, code, message, wait=wait, **extra)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def domain_error_handler(request: Request, exc: DomainError) -> Response:
    return http_exception_handler(request, as_http(exc))


def unavailable_handler(request: Request, exc: Exception) -> Response:
    log.warning("backing service unavailable on %s: %r", request.url.path, exc)
    code, message = DEFAULTS[HTTP_503_SERVICE_UNAVAILABLE]
    response = error_response(request, HTTP_503_SERVICE_UNAVAILABLE, code, message)
    response.headers["Retry-After"] = "5"
    return response


def internal_error_handler(request: Request, exc: Exception) -> Response:
    if isinstance(exc, InternalServerException) and exc.detail == CLIENT_GONE:
        log.info("client left during %s %s", request.method, request.url.path)
        code, message = DEFAULTS[HTTP_400_BAD_REQUEST]
        return error_response(request, HTTP_400_BAD_REQUEST, code, message)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    code, message = DEFAULTS[HTTP_500_INTERNAL_SERVER_ERROR]
    return error_response(request, HTTP_500_INTERNAL_SERVER_ERROR, code, message)


def _database_error_handler(request: Request, exc: Exception) -> Response:
    if is_unavailable(exc):
        return unavailable_handler(request, exc)
    return internal_error_handler(request, exc)


def is_unavailable(exc: BaseException) -> bool:
    """Is this the database or the store being down or locked (not a bug)?"""
    if isinstance(exc, StoreUnavailable | ConnectionError | TimeoutError | OSError):
        return True
    if isinstance(exc, asyncpg.exceptions.PostgresConnectionError | asyncpg.CannotConnectNowError):
        return True
    # Class 57 (the server shutting down or restarting, a cancelled statement) and
    # class 53 (disk full, out of memory, too many connections): the server's state,
    # not a bug in the request.
    if isinstance(
        exc,
        asyncpg.exceptions.OperatorInterventionError
        | asyncpg.exceptions.InsufficientResourcesError,
    ):
        return True
    if isinstance(exc, asyncpg.exceptions.InterfaceError):
        return True
    # Redis errors from outside the StateStore wrapper (the rate-limit storage).
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return any(s in text for s in ("locked", "busy", "disk", "unable to open", "readonly"))
    return False


EXCEPTION_HANDLERS = {
    HTTPException: http_exception_handler,
    DomainError: domain_error_handler,
    StoreUnavailable: unavailable_handler,
    sqlite3.OperationalError: _database_error_handler,
    OSError: _database_error_handler,
    asyncpg.exceptions.PostgresError: _database_error_handler,
    asyncpg.exceptions.InterfaceError: _database_error_handler,
    redis.exceptions.RedisError: _database_error_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
