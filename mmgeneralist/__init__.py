"""mmgeneralist: diffusion models as dense-perception models, as an OpenMMLab plugin.

Importing the package registers its modules into mmengine's root registries, where the
mmseg, mmdet and mmpose registries find them: add
``custom_imports = dict(imports=['mmgeneralist'], allow_failed_imports=False)`` to a config.
"""
from . import datasets, evaluation, models, visualization  # noqa: F401  (registers modules)
from .utils.checkpoint import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

__all__ = ['__version__']
