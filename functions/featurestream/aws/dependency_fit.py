"""Refuse to run a patch of a library's private internals on a version it was not made for.

Two places reach below a library's public API, each for a measured reason
(docs/dependencies.md): the Lambda's botocore response parser (:mod:`featurestream.aws.clients`)
and the local stack's moto (:mod:`devstack.standins.moto_service`). Each pins its library exactly,
checks at start-up that what it patches still has the shape it assumes, and stops with
:class:`DependencyMismatch` otherwise, naming the version found and the version expected, so
a moved library is an error at once, never a silent fallback or a hang.
"""

from collections.abc import Callable, Iterable
from typing import Any


class DependencyMismatch(RuntimeError):
    """A patched library is not the version, or not the shape, its patch was made for."""


def argument_names(function: Callable[..., Any]) -> tuple[str, ...]:
    """A function's positional and keyword parameter names, from its code object (cheap:
    no ``inspect``, which the Lambda's cold start does not otherwise import)."""
    code = function.__code__
    return code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]


def require_fit(
    package: str, found: str, expected: str, patcher: str, problems: Iterable[str]
) -> None:
    """Raise :class:`DependencyMismatch` if ``problems`` is not empty."""
    listed = list(problems)
    if listed:
        raise DependencyMismatch(
            f"{package} {found} is installed, but {patcher} patches {package}'s internals as "
            f"made for {package} {expected}, and they no longer fit: {'; '.join(listed)}. "
            f"Install the locked versions (`make install`), or re-verify the patch against "
            f"{package} {found} (docs/dependencies.md)."
        )
