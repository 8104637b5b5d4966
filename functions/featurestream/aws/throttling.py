"""The error codes AWS services answer with when a caller is going too fast.

One list for every client in the repo (the stream Lambdas' Feature Store writes, the
inference API's reads and model calls, the producers' Kinesis publisher): each treats these
codes as "retry later", never as the caller's mistake. It is the union of the throttling
codes of the services we call (docs/operations.md, "Throttling error codes").
"""

from typing import Final

THROTTLING_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "KMSThrottlingException",
    }
)
