"""Domain exceptions raised by services; backend.api.errors maps them to HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service reports to its caller."""

    code = "error"
    message_zh = "操作失败"

    def __init__(self, message: str, *, details: Any = None, message_zh: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if message_zh is not None:
            self.message_zh = message_zh


class NotFound(DomainError):
    code = "not_found"
    message_zh = "对象不存在"


class OutOfScope(DomainError):
    """The object exists but lies outside the caller's scope (reported as not found)."""

    code = "not_found"
    message_zh = "对象不存在"


class Forbidden(DomainError):
    code = "forbidden"
    message_zh = "无权执行此操作"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    message_zh = "请先登录"


class InvalidInput(DomainError):
    code = "invalid_input"
    message_zh = "输入无效"


class InvalidGeometry(DomainError):
    code = "invalid_geometry"
    message_zh = "几何图形无效"


class StaleVersion(DomainError):
    code = "stale_version"
    message_zh = "数据已被他人修改，请刷新后重试"


class PreconditionRequired(DomainError):
    code = "precondition_required"
    message_zh = "缺少 If-Match 版本标识"


class Conflict(DomainError):
    code = "conflict"
    message_zh = "与现有数据冲突"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    message_zh = "上传内容过大"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    message_zh = "不支持的文件格式"


class RateLimited(DomainError):
    code = "rate_limited"
    message_zh = "请求过于频繁，请稍后再试"


class InvalidParameter(DomainError):
    """A query parameter the standard API answers with 400 (OGC API: unknown or malformed)."""

    code = "invalid_parameter"
    message_zh = "请求参数无效"


# ---------------------------------------------------------------- the usual two, worded once
def not_found(what: str, key: object) -> NotFound:
    """``what key`` does not exist — or lies outside the caller's scope (the same answer)."""
    return NotFound(f"{what} {key} not found", message_zh=f"{what} {key} 不存在")


def stale(what: str, key: object, current: int, expected: int) -> StaleVersion:
    """The If-Match named ``expected`` but the object is at ``current`` (optimistic locking)."""
    return StaleVersion(
        f"{what} {key} is at version {current}, not {expected}: reload and retry",
        details={"current_version": current, "if_match": expected},
    )


def check_version(what: str, key: object, current: int, expected: int) -> None:
    """Raise ``stale`` unless the object is still at the version the caller read."""
    if current != expected:
        raise stale(what, key, current, expected)
