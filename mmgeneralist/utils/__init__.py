from . import safe_loading, sharding  # noqa: F401  (register SkipBadSamples, the FSDP policy)
from .checkpoint import allow_mmengine_checkpoints
from .collect_env import collect_env

__all__ = ['allow_mmengine_checkpoints', 'collect_env']
