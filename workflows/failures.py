"""Concord's errors across Temporal: one translation each way, used by workflows and callers.

An error leaves as an `ApplicationError` whose type is its class name and whose details are its
`details()`; it comes back as the same class with the same rule, field and message. A failure
that names no error of the tree is not Concord refusing anything: callers report it as a Fault.
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio.exceptions import ApplicationError

from domain.errors import ConcordError, rebuild


def to_failure(error: ConcordError, *, retryable: bool = False) -> ApplicationError:
    """The application failure that carries `error` across Temporal."""
    return ApplicationError(
        error.message, error.details(), type=type(error).__name__, non_retryable=not retryable
    )


def from_failure(failure: BaseException | None) -> ConcordError | None:
    """The Concord error a failure carries (looking through update, activity and workflow
    failures to their cause), or None when it carries none."""
    seen = 0
    while failure is not None and not isinstance(failure, ApplicationError) and seen < 8:
        failure = getattr(failure, "cause", None)
        seen += 1
    if not isinstance(failure, ApplicationError) or failure.type is None:
        return None
    details = failure.details[0] if failure.details else None
    if not isinstance(details, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in details.items()
    ):
        return None
    return rebuild(failure.type, details)
