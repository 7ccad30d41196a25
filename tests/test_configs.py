"""Every config in configs/ loads and builds its model (weights swapped for the tiny stand-in)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from .conftest import ROOT

CONFIGS = sorted(
    p for top in ('configs', 'projects')
    for p in glob.glob(osp.join(ROOT, top, '**', '*.py'), recursive=True) if '_base_' not in p)


def test_there_are_configs():
    assert CONFIGS


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_builds(path, tiny_sd_dir):
    cfg = Config.fromfile(path)
    assert cfg.default_scope in ('mmseg', 'mmdet', 'mmpose')
    assert cfg.custom_imports['imports'] == ['mmgeneralist']
    backbone = cfg.model.get('backbone', {})
    if backbone.get('type') == 'DiffusionUNetBackbone':
        backbone['pretrained'] = tiny_sd_dir
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    assert model.__class__.__name__ == cfg.model.type
