from . import safe_loading  # noqa: F401  (registers the SkipBadSamples transform)
from .checkpoint import allow_mmengine_checkpoints
from .collect_env import collect_env

__all__ = ['allow_mmengine_checkpoints', 'collect_env']
