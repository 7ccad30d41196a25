"""Our modules build by plain name in the mmseg, mmdet and mmpose scopes, beside theirs."""
import pytest
from mmengine.registry import DefaultScope, init_default_scope

import mmgeneralist  # noqa: F401  (registers)


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet', 'mmpose'])
def test_backbone_builds_in_each_scope(scope, tiny_sd_dir):
    import importlib
    registry = importlib.import_module(f'{scope}.registry').MODELS
    init_default_scope(scope)
    assert DefaultScope.get_current_instance().scope_name == scope
    backbone = registry.build(
        dict(type='DiffusionUNetBackbone', pretrained=tiny_sd_dir, class_names=['a', 'b']))
    assert type(backbone).__name__ == 'DiffusionUNetBackbone'
    # found through the parent: the codebase's own registry does not hold it
    assert 'DiffusionUNetBackbone' not in registry.module_dict
    assert DefaultScope.get_current_instance().scope_name == scope  # building kept the scope


def _ours(registry) -> set[str]:
    return {name for name, cls in registry.module_dict.items()
            if cls.__module__.startswith('mmgeneralist.')}


def test_no_scope_of_our_own_and_no_name_clashes():
    """Our modules live in mmengine's root registries under names no codebase uses."""
    import importlib

    from mmengine import registry as root
    for kind in ('MODELS', 'METRICS', 'DATASETS', 'TRANSFORMS'):
        assert 'mmgeneralist' not in getattr(root, kind).children, kind
    ours = {kind: _ours(getattr(root, kind)) for kind in ('MODELS', 'METRICS')}
    assert {'DiffusionUNetBackbone', 'DiffusionEncoderDecoder', 'VAELatentHead',
            'ReferringMaskHead'} <= ours['MODELS']
    assert 'AffineInvariantDepthMetric' in ours['METRICS']
    for scope in ('mmseg', 'mmdet', 'mmpose', 'mmpretrain'):
        codebase = importlib.import_module(f'{scope}.registry')
        for kind, names in ours.items():
            registry = getattr(codebase, kind)
            registry.import_from_location()  # the codebase's own modules, all registered
            assert registry.module_dict, (scope, kind)
            clash = names & set(registry.module_dict)
            assert not clash, f'{scope} already registers {sorted(clash)} in {kind}'


def test_mmseg_modules_unchanged_beside_ours(tiny_sd_dir):
    from mmseg.models.backbones import UNet as MMSegUNet
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    # mmseg's own same-purpose names still resolve to mmseg's classes ...
    assert MODELS.get('UNet') is MMSegUNet
    head = MODELS.build(dict(type='FPNHead', in_channels=[8] * 4, in_index=[0, 1, 2, 3],
                             feature_strides=[4, 8, 16, 32], channels=8, num_classes=3))
    assert type(head).__module__.startswith('mmseg.')
    # ... and a whole mmseg segmentor builds with our backbone inside it.
    seg = MODELS.build(
        dict(type='EncoderDecoder',
             backbone=dict(type='DiffusionUNetBackbone', pretrained=tiny_sd_dir,
                           class_names=['a', 'b', 'c']),
             decode_head=dict(type='FPNHead', in_channels=[35, 67, 67, 64],
                              in_index=[0, 1, 2, 3], feature_strides=[4, 8, 16, 32],
                              channels=8, num_classes=3)))
    assert type(seg).__module__.startswith('mmseg.')
    assert type(seg.backbone).__module__.startswith('mmgeneralist.')


def test_custom_imports_in_a_downstream_config(tmp_path, tiny_sd_dir):
    """A plain mmseg config with only ``custom_imports`` added finds our backbone."""
    from mmengine.config import Config
    from mmseg.registry import MODELS
    cfg_file = tmp_path / 'user_config.py'
    cfg_file.write_text(
        "default_scope = 'mmseg'\n"
        "custom_imports = dict(imports=['mmgeneralist'], allow_failed_imports=False)\n"
        f"model = dict(type='DiffusionUNetBackbone', pretrained={tiny_sd_dir!r}, "
        "class_names=['x'])\n")
    cfg = Config.fromfile(str(cfg_file))
    init_default_scope(cfg.default_scope)
    assert type(MODELS.build(cfg.model)).__name__ == 'DiffusionUNetBackbone'
