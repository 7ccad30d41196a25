"""Every config in configs/ and projects/ loads, builds, and runs at its own widths.

The real configs name weight folders that cannot be downloaded here (SD-1.5, SD-2.1).

* Loading: their ``pretrained`` paths are pointed at a tiny stand-in saved by the tests in
  diffusers' format, and the model is built through the real ``from_pretrained`` path: the
  weights it holds must be the saved ones.
* Widths: each real config is built with the real SD-1.5 / SD-2.1 architecture (the
  published UNet, VAE and CLIP text-encoder configs, no weights) on torch's ``meta``
  device, and backbone, neck and head run once at the config's crop size, so any width
  that does not fit fails. Tiny configs run the same way on the CPU with the tiny weights.
"""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, TRANSFORMS, DefaultScope, init_default_scope
from safetensors.torch import load_file

from mmgeneralist.diffusion import save_architecture
from mmgeneralist.utils.random_models import (
    LOADERS,
    architecture_of,
    build_model,
    point_at,
    synthetic_batch,
    tensor_forward,
    unet_of,
)

from .conftest import ROOT

CONFIGS = sorted(
    p for top in ('configs', 'projects')
    for p in glob.glob(osp.join(ROOT, top, '**', '*.py'), recursive=True) if '_base_' not in p)

#: where a module keeps a loaded part, when not under the part's own name
PART_ATTRIBUTES = {('PixelDiffusionGeneralist', 'text_encoder'): 'text.encoder'}
#: parameters a module re-shapes on purpose (checked in its own tests): only the slices it
#: keeps are compared, ``(input channels kept, output channels kept)`` (None: all)
RESHAPED = {('PixelDiffusionGeneralist', 'unet'): {'conv_in.weight': (3, None),
                                                   'conv_out.weight': (None, 3),
                                                   'conv_out.bias': (None, 3)},
            # the editor widens the first convolution for the source latent (new channels
            # zero) and keeps the folder's first latent_channels ones: the tiny folder's 8
            ('InstructionEditor', 'unet'): {'conv_in.weight': (8, None)}}


def test_there_are_configs():
    assert CONFIGS


#: saved weights a feature backbone leaves out (its UNet's output layers, the VAE decoder)
DROPPED = {
    ('DiffusionUNetBackbone', 'unet'): ('conv_out.', 'conv_norm_out.'),
    ('DiffusionUNetBackbone', 'vae'): ('decoder.', 'post_quant_conv.'),
}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_loads_its_weights_and_builds(path, tiny_sd_dir):
    """Pipelines build in the config's scope; each weight-loading module, pointed at the
    tiny folder, holds exactly the saved weights (whole models are built and run in
    test_config_runs_at_its_widths)."""
    cfg = Config.fromfile(path)
    assert cfg.default_scope in ('mmseg', 'mmdet', 'mmpose')
    assert cfg.custom_imports['imports'] == ['mmgeneralist']
    loaders = point_at(cfg.model, tiny_sd_dir)
    assert loaders, 'every config loads diffusion weights'
    init_default_scope(cfg.default_scope)
    for key in ('train_dataloader', 'test_dataloader'):
        dataset = cfg[key]['dataset']
        # a MultiTaskDataset's data sets build their pipelines in their own scopes
        for sub in dataset.get('datasets', {'': dataset}).values():
            with DefaultScope.overwrite_default_scope(sub.get('_scope_')):
                for step in sub.get('pipeline', []):
                    TRANSFORMS.build(step)  # every transform exists in this scope
    for loader in loaders:
        module = MODELS.build(loader)
        for part in LOADERS[loader['type']]:
            saved = glob.glob(f'{tiny_sd_dir}/{part}/*.safetensors')
            assert len(saved) == 1, saved
            saved = load_file(saved[0])
            attribute = PART_ATTRIBUTES.get((loader['type'], part), part)
            loaded = module.get_submodule(attribute).state_dict()
            # a feature backbone drops the parts its features never reach
            dropped = (DROPPED.get((loader['type'], part), ())
                       if getattr(module, 'outputs', None) == 'features' else ())
            assert loaded.keys() <= saved.keys(), (loader['type'], part)
            assert all(k.startswith(dropped) for k in saved.keys() - loaded.keys()), part
            reshaped = RESHAPED.get((loader['type'], part), {})
            for key in loaded:
                value = saved[key]
                keep_in, keep_out = reshaped.get(key, (None, None))
                mine = loaded[key][:keep_out]
                mine = mine[:, :keep_in] if keep_in else mine
                assert torch.equal(value[:keep_out][:, :keep_in] if keep_in else
                                   value[:keep_out], mine), (part, key)


FOLDERS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '*')) if osp.isdir(p)
                 and not p.endswith('_base_'))


@pytest.mark.parametrize('folder', FOLDERS, ids=osp.basename)
def test_config_folder_has_readme_and_metafile(folder):
    import yaml
    assert osp.isfile(osp.join(folder, 'README.md'))
    meta = yaml.safe_load(open(osp.join(folder, 'metafile.yml')))
    listed = {m['Config'] for m in meta['Models']}
    assert all(osp.isfile(osp.join(ROOT, c)) for c in listed), listed
    # tiny configs (``<method>_tiny-<parts>_...`` or ``<method>_tiny_...``) need not be listed
    real = {osp.relpath(p, ROOT) for p in glob.glob(osp.join(folder, '*.py'))
            if '_tiny' not in osp.basename(p)}
    assert real <= listed, f'configs missing from metafile.yml: {sorted(real - listed)}'


@pytest.fixture(scope='module')
def architecture_dirs(tmp_path_factory, tiny_sd_dir):
    """Config-only folders of SD-1.5 and SD-2.1, and the tiny model's folder."""
    root = tmp_path_factory.mktemp('architectures')
    return dict(sd15=save_architecture('sd15', str(root / 'sd15')),
                sd21=save_architecture('sd21', str(root / 'sd21')), tiny=tiny_sd_dir)


def _crop_size(cfg) -> tuple[int, int]:
    """The training crop (or the fixed input size) the config states."""
    crop = cfg.get('crop_size') or cfg.get('img_scale')
    if crop is None and 'codec' in cfg:  # mmpose: the codec's (width, height) input size
        crop = cfg.codec['input_size'][::-1]
    assert crop is not None, 'configs state their crop_size (or img_scale, or mmpose codec)'
    return tuple(int(c) for c in crop)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_runs_at_its_widths(path, architecture_dirs):
    cfg = Config.fromfile(path)
    arch = architecture_of(cfg.model)
    device = torch.device('cpu' if arch == 'tiny' else 'meta')
    model = build_model(cfg, architecture_dirs[arch], device, random=arch != 'tiny')
    assert type(model).__name__ == cfg.model.type
    model.eval()
    generalist = type(model).__name__ == 'PixelDiffusionGeneralist'
    editor = type(model).__name__ == 'InstructionEditor'
    unet = unet_of(model)
    if arch != 'tiny':  # the published widths, not a stand-in's
        expected = dict(sd15=768, sd21=1024)[arch]
        assert unet.config.cross_attention_dim == expected
        assert tuple(unet.config.block_out_channels) == (320, 640, 1280, 1280)
    crop = _crop_size(cfg)
    # SD's total stride; the generalist's inputs are resized to its fixed conditioning size,
    # the editor's are not padded
    size = crop if generalist or editor else tuple(int(math.ceil(c / 64) * 64) for c in crop)
    # the config's own data preprocessor makes the batch: normalised, padded
    inputs, samples = synthetic_batch(model, 2, crop)
    assert inputs.shape == (2, 3, *size) and inputs.device.type == device.type
    with torch.no_grad():
        out = tensor_forward(model, inputs, samples)
    if generalist:  # one denoising step on the RGB target, at the target size
        assert out.shape == (2, 3, *model.target_size)
        return
    if editor:  # the UNet's output on the latents, at the VAE's stride
        s = 2**(len(model.vae.config.block_out_channels) - 1)
        assert out.shape == (2, model.vae.config.latent_channels, size[0] // s, size[1] // s)
        return
    strides = model.backbone.strides
    name = type(model).__name__
    if name == 'TopdownPoseEstimator':  # one heatmap per keypoint, at the codec's size
        w, h = cfg.codec['heatmap_size']
        assert out.shape == (2, model.head.out_channels, h, w), out.shape
    elif name == 'DiffusionReferringSegmentor':  # one mask per (image, expression) pair
        assert out.shape == (4, 2, size[0] // strides[0], size[1] // strides[0])
    elif type(model.decode_head).__name__ == 'VAELatentHead':  # the decoded colour map
        assert out.shape == (2, 3, *size)
    else:
        assert out.shape[:2] == (2, model.decode_head.out_channels), out.shape
        assert out.shape[2] >= size[0] // strides[-1]


def _bases(path: str) -> list[str]:
    """The config's own ``_base_`` files (a codebase's ``mmseg::...`` base is a leaf here)."""
    import ast
    tree = ast.parse(open(path).read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [osp.normpath(osp.join(osp.dirname(path), n)) for n in names if '::' not in n]
    return []


def _chain_length(path: str) -> int:
    """Files in the longest inheritance chain from ``path`` (itself included)."""
    return 1 + max((_chain_length(b) for b in _bases(path)), default=0)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_at_most_three_levels_of_inheritance(path):
    assert all(osp.isfile(b) for b in _bases(path)), _bases(path)
    assert _chain_length(path) <= 3


def test_model_zoo_lists_every_metafile_model(capsys):
    """``python -m mmgeneralist.zoo``: model-index.yml imports every method's metafile."""
    from mmgeneralist import zoo
    models = zoo.load_models()
    metafiles = sorted(glob.glob(osp.join(ROOT, 'configs', '*', 'metafile.yml')))
    assert {m['Metafile'] for m in models} == {osp.relpath(p, ROOT) for p in metafiles}
    assert all(osp.isfile(osp.join(ROOT, m['Config'])) for m in models)
    zoo.main(['--task', 'depth'])
    out = capsys.readouterr().out
    depth = [m['Name'] for m in models if 'depth' in zoo._row(m)[2].lower()]
    assert depth and all(name in out for name in depth)
    assert 'vpd_sd15-fpn_8xb2-80k_ade20k-512x512 ' not in out  # segmentation filtered out
