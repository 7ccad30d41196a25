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
    assert registry.scope == scope  # no scope of our own was introduced


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
