"""Build any config's model at its real architecture with random weights, and run it once.

The real configs name weight folders that cannot be downloaded everywhere (SD-1.5, SD-2.1).
The config tests and the benchmark both need the models those configs describe, at their
real widths: this module points every weight-loading module of a model config at a
config-only folder of the published architecture
(:func:`~mmgeneralist.diffusion.architectures.save_architecture`), builds the model under
:func:`~mmgeneralist.diffusion.loading.random_weights` on any device (``meta`` for shapes
only), makes a batch with the config's own data preprocessor, and runs each model's
tensor-mode forward (backbone, neck and head; or one denoising call of a generative model).
"""
from __future__ import annotations

import contextlib
import os.path as osp

import torch

#: modules that load weights from a diffusers folder, and the sub-models they load
LOADERS = {
    'DiffusionUNetBackbone': ('unet', 'vae', 'text_encoder'),
    'VAELatentHead': ('vae', ),
    'PixelDiffusionGeneralist': ('unet', 'text_encoder'),
    'InstructionEditor': ('unet', 'vae', 'text_encoder'),
}

#: the weight folders the configs name, and the architecture each stands for
ARCHITECTURE_OF = {
    'checkpoints/stable-diffusion-v1-4': 'sd15',  # SD-1.4 and 1.5 share the architecture
    'checkpoints/stable-diffusion-v1-5': 'sd15',
    'checkpoints/stable-diffusion-2-1': 'sd21',
    'checkpoints/tiny-sd': 'tiny',
    'checkpoints/tiny-editor': 'tiny',  # the tiny InstructDiffusion configs' folder
}


def loader_cfgs(model_cfg) -> list[dict]:
    """The configs of the modules (anywhere in ``model_cfg``) that load diffusion weights."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get('type') in LOADERS:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(model_cfg)
    return found


def point_at(model_cfg, folder: str) -> list[dict]:
    """Set ``pretrained`` of every weight-loading module config; return those configs."""
    loaders = loader_cfgs(model_cfg)
    for loader in loaders:
        loader['pretrained'] = folder
        if loader.get('unet'):  # a UNet folder of its own (a released fine-tuned UNet)
            loader['unet'] = osp.join(folder, 'unet')
    return loaders


def architecture_of(model_cfg, strict: bool = True) -> str | None:
    """``'sd15'``, ``'sd21'`` or ``'tiny'``: the architecture of the weights a model names
    (``None`` for a folder not in :data:`ARCHITECTURE_OF`, unless ``strict``)."""
    named = {loader['pretrained'] for loader in loader_cfgs(model_cfg)}
    if not named:
        raise ValueError('the model config loads no diffusion weights (no module of type '
                         f'{sorted(LOADERS)})')
    archs = {ARCHITECTURE_OF.get(osp.normpath(p)) for p in named}
    if None in archs and not strict and len(named) == 1:
        return None
    if None in archs:
        raise ValueError(f'unknown weight folder(s) {sorted(named)}: known ones are '
                         f'{sorted(ARCHITECTURE_OF)}')
    if len(archs) != 1:
        raise ValueError(f'weights {sorted(named)} of one model must be one architecture')
    return archs.pop()


def build_model(cfg, folder: str, device: str | torch.device = 'cpu', random: bool = True):
    """Build ``cfg.model`` with its weights from ``folder``, on ``device``.

    Args:
        cfg: an mmengine ``Config`` (its ``default_scope`` is initialised here).
        folder: a diffusers-format folder; config-only (``save_architecture``) when
            ``random``.
        device: where parameters are created (``'meta'``: shapes only, no memory).
        random: build from the parts' configs with fresh weights instead of loading them.
    """
    from mmengine.registry import MODELS, init_default_scope

    from ..diffusion import random_weights
    model_cfg = cfg.model.copy() if hasattr(cfg.model, 'copy') else dict(cfg.model)
    point_at(model_cfg, folder)
    init_default_scope(cfg.default_scope)
    with torch.device(device), random_weights() if random else contextlib.nullcontext():
        model = MODELS.build(model_cfg)
    model.data_preprocessor.to(device)
    return model


def synthetic_samples(model, batch: int, size: tuple[int, int]) -> list:
    """Data samples carrying what each model reads besides the images (no ground truth)."""
    meta = dict(img_shape=size, pad_shape=size, ori_shape=size, category_id=3,
                text=['the red ball on the left', 'the person'])
    name = type(model).__name__
    if name == 'DiffusionReferringSegmentor':
        from mmdet.structures import DetDataSample
        return [DetDataSample(metainfo=meta) for _ in range(batch)]
    if name == 'PixelDiffusionGeneralist':
        meta['task'] = next(iter(model.tasks))
    if name == 'InstructionEditor':
        meta['instruction'] = 'Place a red mask on the ball.'
    if name == 'TopdownPoseEstimator':  # mmpose: one person crop per sample
        from mmpose.structures import PoseDataSample
        h, w = size
        meta.update(input_size=(w, h), input_center=(w / 2, h / 2), input_scale=(w, h),
                    flip_indices=list(range(model.head.out_channels)))
        return [PoseDataSample(metainfo=meta) for _ in range(batch)]
    from mmseg.structures import SegDataSample
    return [SegDataSample(metainfo=meta) for _ in range(batch)]


def synthetic_batch(model, batch: int, size: tuple[int, int], device=None):
    """Random uint8 images through the model's own data preprocessor (normalised, padded):
    ``(inputs, data_samples)``."""
    images = [torch.randint(0, 256, (3, *size), dtype=torch.uint8) for _ in range(batch)]
    if device is not None:
        model.data_preprocessor.to(device)
    data = model.data_preprocessor(
        dict(inputs=images, data_samples=synthetic_samples(model, batch, size)), True)
    return data['inputs'], data['data_samples']


def tensor_forward(model, inputs, samples):
    """Backbone, neck and head once, as each model's tensor mode runs them; for the
    generative models one denoising call (the UNet on noise and the condition)."""
    name = type(model).__name__
    if name in ('DiffusionReferringSegmentor', 'PixelDiffusionGeneralist'):
        return model._forward(inputs, samples)
    if name == 'InstructionEditor':  # one UNet call on the noisy and the source latents
        return model(inputs, samples, mode='tensor')
    if name == 'DepthEstimator':
        feats = model.extract_feat(inputs, [s.metainfo for s in samples])
    else:
        feats = model.extract_feat(inputs)
    if name == 'TopdownPoseEstimator':  # mmpose keeps its head as ``head``
        return model.head.forward(feats)
    return model.decode_head.forward(feats)


def unet_of(model):
    """The diffusion UNet of any of the project's models."""
    if hasattr(model, 'unet'):
        return model.unet
    return model.backbone.unet
