"""Every config in configs/ and projects/ loads, builds its data pipelines and its model.

The real configs name weight folders that cannot be downloaded here (SD-1.5, SD-2.1); their
``pretrained`` paths are pointed at a tiny stand-in saved by the tests in diffusers' format,
and the model is built through the real ``from_pretrained`` path: the weights it holds must
be the saved ones.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, TRANSFORMS, init_default_scope
from safetensors.torch import load_file

from .conftest import ROOT

CONFIGS = sorted(
    p for top in ('configs', 'projects')
    for p in glob.glob(osp.join(ROOT, top, '**', '*.py'), recursive=True) if '_base_' not in p)

#: modules that load weights from a diffusers folder, and the sub-models they load
LOADERS = {
    'DiffusionUNetBackbone': ('unet', 'vae', 'text_encoder'),
    'VAELatentHead': ('vae', ),
}


def _point_at(model_cfg, folder: str) -> list[str]:
    """Set ``pretrained`` of every weight-loading module config; return their paths."""
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            if node.get('type') in LOADERS:
                node['pretrained'] = folder
                found.append(path)
            for key, value in node.items():
                walk(value, f'{path}.{key}' if path else key)
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{path}.{i}')

    walk(model_cfg, 'model')
    return found


def _module(model, path: str):
    for part in path.split('.')[1:]:  # the path starts at "model"
        model = model[int(part)] if part.isdigit() else getattr(model, part)
    return model


def test_there_are_configs():
    assert CONFIGS


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_builds(path, tiny_sd_dir):
    cfg = Config.fromfile(path)
    assert cfg.default_scope in ('mmseg', 'mmdet', 'mmpose')
    assert cfg.custom_imports['imports'] == ['mmgeneralist']
    loaders = _point_at(cfg.model, tiny_sd_dir)
    init_default_scope(cfg.default_scope)
    for key in ('train_dataloader', 'test_dataloader'):
        for step in cfg[key]['dataset'].get('pipeline', []):
            TRANSFORMS.build(step)  # every transform exists in this scope
    model = MODELS.build(cfg.model)
    assert model.__class__.__name__ == cfg.model.type
    for loader in loaders:
        module = _module(model, loader)
        for part in LOADERS[type(module).__name__]:
            saved = glob.glob(f'{tiny_sd_dir}/{part}/*.safetensors')
            assert len(saved) == 1, saved
            saved = load_file(saved[0])
            loaded = getattr(module, part).state_dict()
            assert saved.keys() == loaded.keys(), (loader, part)
            assert all(torch.equal(v, loaded[k]) for k, v in saved.items()), (loader, part)


FOLDERS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '*')) if osp.isdir(p)
                 and not p.endswith('_base_'))


@pytest.mark.parametrize('folder', FOLDERS, ids=osp.basename)
def test_config_folder_has_readme_and_metafile(folder):
    import yaml
    assert osp.isfile(osp.join(folder, 'README.md'))
    meta = yaml.safe_load(open(osp.join(folder, 'metafile.yml')))
    listed = {m['Config'] for m in meta['Models']}
    assert all(osp.isfile(osp.join(ROOT, c)) for c in listed), listed
    real = {osp.relpath(p, ROOT) for p in glob.glob(osp.join(folder, '*.py'))
            if '_tiny-' not in p}
    assert real <= listed, f'configs missing from metafile.yml: {sorted(real - listed)}'
