"""Registration of mmgeneralist modules into the OpenMMLab registries.

mmgeneralist has no registry scope of its own. Every module is registered into the
*root* registries of mmengine, which mmseg, mmdet and mmpose all descend from: when
a config under ``default_scope='mmseg'`` (or ``'mmdet'``, ``'mmpose'``) asks for
``type='DiffusionUNetBackbone'``, the codebase's registry does not know the name,
looks in its parent, and finds it there. So a downstream config only needs::

    custom_imports = dict(imports=['mmgeneralist'], allow_failed_imports=False)

and keeps its own default scope, and its own modules (and internal ``MODELS.build``
calls) behave exactly as before. Class names are unique (``DiffusionUNetBackbone``,
never ``UNet``), because a same-named class in a codebase's own registry would win.
"""
from mmengine.registry import DATASETS, METRICS, MODELS, TRANSFORMS

__all__ = ['MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'register']

_REGISTRIES = dict(models=MODELS, datasets=DATASETS, transforms=TRANSFORMS, metrics=METRICS)


def register(kind: str):
    """Return a class decorator registering a class under its own name.

    Args:
        kind: one of ``'models'``, ``'datasets'``, ``'transforms'``, ``'metrics'``.

    Example:
        >>> @register('models')
        ... class DiffusionUNetBackbone(BaseModule): ...
    """
    if kind not in _REGISTRIES:
        raise ValueError(f'unknown registry kind {kind!r}; expected one of {sorted(_REGISTRIES)}')
    return _REGISTRIES[kind].register_module()
