"""Lambda's context object, reproduced locally: the one fake context of the repo.

Used by every local way of running a handler (``featurestream invoke``, the trigger
runner's workers, the local API Gateway) and by the tests that call handlers directly.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

ACCOUNT_ID = "123456789012"
"""The account id every local ARN carries (the one moto and the stand-ins use)."""


def function_arn(function_name: str, region: str = "us-east-1") -> str:
    """The ARN Lambda gives a function of this name in the local account."""
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"


@dataclass
class LocalContext:
    """The attributes and method of Lambda's context object that handlers use; the deadline
    starts when the context is made, as Lambda's starts when the invocation does."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: float
    invoked_function_arn: str
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    @classmethod
    def for_function(
        cls,
        function_name: str,
        *,
        aws_request_id: str | None = None,
        timeout_seconds: float = 30.0,
        memory_limit_in_mb: int = 512,
    ) -> LocalContext:
        """A context for a function run without its template spec (the API Gateway
        stand-in, tests): 512 MB, 30 s unless given, and a fresh request id unless given."""
        return cls(
            function_name=function_name,
            memory_limit_in_mb=memory_limit_in_mb,
            timeout_seconds=timeout_seconds,
            invoked_function_arn=function_arn(function_name),
            aws_request_id=aws_request_id or str(uuid.uuid4()),
        )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
