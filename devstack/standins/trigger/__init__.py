"""Lambda's Kinesis event source mapping, locally: the trigger runner of the local stack.

``TriggerRunner`` reads the Kinesis events of ``template.yaml``, polls each shard, builds the
event Lambda delivers, invokes the handler in warm worker processes and honours the mapping's
batching, parallelization, retry, bisection, partial-batch and on-failure settings. See
``docs/trigger-runner.md``. Exports are lazy so a worker process (which imports
``devstack.standins.trigger.worker``) starts without loading boto3 and the template reader.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.standins.trigger.config import EventSourceMapping, load_mappings
    from devstack.standins.trigger.runner import TriggerRunner

__all__ = ["EventSourceMapping", "TriggerRunner", "load_mappings"]


def __getattr__(name: str) -> Any:
    if name == "TriggerRunner":
        from devstack.standins.trigger.runner import TriggerRunner

        return TriggerRunner
    if name in ("EventSourceMapping", "load_mappings"):
        from devstack.standins.trigger import config

        return getattr(config, name)
    raise AttributeError(name)
