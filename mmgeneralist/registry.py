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
from mmengine.registry import DATASETS, METRICS, MODELS, TRANSFORMS, Registry

from . import codecs

__all__ = ['MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'CODECS', 'build_codec', 'register']

#: Label <-> RGB codecs (:mod:`mmgeneralist.codecs`), built by the heads that render labels
#: as images: ``CODECS.build(dict(type='ClassColorCodec', num_classes=150))``. A registry
#: of its own, like mmpose's ``KEYPOINT_CODECS``: no codebase has one to descend from.
CODECS = Registry('codec', scope='mmgeneralist')

_REGISTRIES = dict(models=MODELS, datasets=DATASETS, transforms=TRANSFORMS, metrics=METRICS,
                   codecs=CODECS)


def register(kind: str):
    """Return a class decorator registering a class under its own name.

    Args:
        kind: one of ``'models'``, ``'datasets'``, ``'transforms'``, ``'metrics'``,
            ``'codecs'``.

    Example:
        >>> @register('models')
        ... class DiffusionUNetBackbone(BaseModule): ...
    """
    if kind not in _REGISTRIES:
        raise ValueError(f'unknown registry kind {kind!r}; expected one of {sorted(_REGISTRIES)}')
    return _REGISTRIES[kind].register_module()


def build_codec(cfg) -> codecs.BaseCodec:
    """A codec from its config, e.g. ``dict(type='DepthCodec')`` (a codec passes through)."""
    if isinstance(cfg, codecs.BaseCodec):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'codec must be a config dict with a "type" (one of '
                        f'{sorted(CODECS.module_dict)}) or a codec; got {cfg!r}')
    # our own scope for the build: the codebases' scopes have no codec registry
    return CODECS.build(dict(cfg, _scope_=CODECS.scope))


# codecs/ stays free of OpenMMLab imports; its classes are registered here
for _codec in (codecs.ClassColorCodec, codecs.DepthCodec, codecs.PainterClassCodec,
               codecs.QuantizedDepthCodec, codecs.InstanceColorCodec, codecs.ImageCodec,
               codecs.KeypointCircleCodec, codecs.MaskOverlayCodec):
    CODECS.register_module(module=_codec)
