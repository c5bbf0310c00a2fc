"""Errors of the tilerender client: one exception class per gRPC status, carrying the daemon's message.

    try:
        client.render("nosuch")
    except tilerender.NotFound as e:
        print(e.code, e.message)

Every class derives from :class:`TileRenderError`; the mapping from status codes is in one place
(:func:`from_rpc_error`).
"""

from __future__ import annotations

from typing import Dict, Optional, Type

import grpc


class TileRenderError(Exception):
    """A request the daemon (or the transport) refused. ``code`` is the gRPC status code,
    ``message`` the daemon's explanation."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class Cancelled(TileRenderError):
    code = grpc.StatusCode.CANCELLED


class Unknown(TileRenderError):
    code = grpc.StatusCode.UNKNOWN


class InvalidArgument(TileRenderError, ValueError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(TileRenderError, TimeoutError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(TileRenderError, LookupError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(TileRenderError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(TileRenderError, PermissionError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(TileRenderError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(TileRenderError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(TileRenderError):
    code = grpc.StatusCode.ABORTED


class OutOfRange(TileRenderError):
    code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(TileRenderError, NotImplementedError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(TileRenderError):
    code = grpc.StatusCode.INTERNAL


class Unavailable(TileRenderError, ConnectionError):
    code = grpc.StatusCode.UNAVAILABLE


class DataLoss(TileRenderError):
    code = grpc.StatusCode.DATA_LOSS


class Unauthenticated(TileRenderError):
    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: Dict[grpc.StatusCode, Type[TileRenderError]] = {
    cls.code: cls
    for cls in (Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound, AlreadyExists, PermissionDenied,
                ResourceExhausted, FailedPrecondition, Aborted, OutOfRange, Unimplemented, Internal, Unavailable,
                DataLoss, Unauthenticated)
}


def from_code(code: grpc.StatusCode, message: str) -> TileRenderError:
    """The exception for a status code (TileRenderError itself for codes without a class)."""
    return _BY_CODE.get(code, TileRenderError)(message, code)


def from_int_code(code: int, message: str) -> TileRenderError:
    """The exception for a numeric status code, as RenderStream reports per item."""
    for c in grpc.StatusCode:
        if c.value[0] == code:
            return from_code(c, message)
    return TileRenderError(message, grpc.StatusCode.UNKNOWN)


def from_rpc_error(error: grpc.RpcError) -> TileRenderError:
    """The exception for a failed call (grpc.RpcError is also a grpc.Call)."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return from_code(code if code is not None else grpc.StatusCode.UNKNOWN, details or "")
