"""Lambda's Kinesis event source mapping, locally: the trigger runner of the local stack.

``TriggerRunner`` reads the Kinesis events of ``template.yaml``, polls each shard, builds the
event Lambda delivers, invokes the handler in warm worker processes and honours the mapping's
batching, parallelization, retry, bisection, partial-batch and on-failure settings. See
``docs/trigger-runner.md``.
"""

from devstack.trigger.config import EventSourceMapping, load_mappings
from devstack.trigger.runner import TriggerRunner

__all__ = ["EventSourceMapping", "TriggerRunner", "load_mappings"]
