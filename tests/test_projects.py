"""Each worked project in projects/ trains a few iterations and is evaluated by its codebase's
own metric, on generated data, with the tiny model standing in for SD-1.5.

The project configs are used as a user runs them (their ``mmseg::`` / ``mmpose::`` bases,
``custom_imports``, the codebase's scope, pipelines and evaluator); only what the tiny
stand-in and the generated data need is overridden: weight folder, the tiny model's widths
(its VAE downsamples 4x, SD's 8x), data roots, batch size and length, and for mmseg's
512-px ADE20K pipelines the image size. The real widths run in test_configs.py.
"""
import math
import os.path as osp

import pytest

from .conftest import ROOT, load_config, run_tool

pytestmark = pytest.mark.slow(seconds=30)  # each test, one thread of the CI machine

PROJECTS = osp.join(ROOT, 'projects')
TINY_WIDTHS = [32, 64, 64, 64]  # the tiny UNet's up-block widths, highest resolution first


def _quick(loader: str, batch: int, samples: int | None) -> dict:
    """A data loader of ``samples`` items (None: all), loaded in the test process."""
    return {f'{loader}.batch_size': batch, f'{loader}.num_workers': 0,
            f'{loader}.persistent_workers': False, f'{loader}.dataset.indices': samples}


def _train_then_validate(cfg):
    """Train as ``tools/train.py`` does, then one validation: (runner, metrics)."""
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss), loss
    return runner, runner.val()


def _smaller_crops(cfg, size: int) -> None:
    """mmseg's ADE20K pipelines at ``size`` (short side, and square crops) instead of 512:
    the tiny UNet attends over its whole latent, 16384 tokens at 512 px (7.5 minutes for
    three iterations and three images on one thread), 256 at 64 px."""
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type == 'RandomResize':
            step.scale = (4 * size, size)
        elif step.type == 'RandomCrop':
            step.crop_size = (size, size)
    for step in cfg.val_dataloader.dataset.pipeline:
        if step.type == 'Resize':
            step.scale = (4 * size, size)
    cfg.model.data_preprocessor.size = (size, size)


def test_sem_fpn_project_trains_and_reports_miou(tiny_sd_dir, synthetic_ade_root, tmp_path):
    """mmseg's Semantic FPN with the diffusion backbone (its pipelines at 64 px)."""
    config = osp.join(PROJECTS, 'diffusion_backbone_in_sem_fpn/configs/'
                      'fpn_sd15-diffusion-unet_4xb4-160k_ade20k-512x512.py')
    iters = 3
    overrides = {
        'model.backbone.pretrained': tiny_sd_dir,
        'model.neck.in_channels': TINY_WIDTHS,
        'model.decode_head.feature_strides': [4, 8, 16, 32],
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters + 1,
        'default_hooks.checkpoint.interval': iters,
        **_quick('train_dataloader', 2, 6), **_quick('val_dataloader', 1, 3),
    }
    for loader in ('train_dataloader', 'val_dataloader'):
        overrides[f'{loader}.dataset.data_root'] = synthetic_ade_root
    cfg = load_config(config, tmp_path, **overrides)
    assert cfg.default_scope == 'mmseg' and cfg.model.type == 'EncoderDecoder'
    _smaller_crops(cfg, 64)
    runner, metrics = _train_then_validate(cfg)
    assert runner.iter == iters and osp.isfile(tmp_path / f'iter_{iters}.pth')
    assert type(runner.model.backbone).__name__ == 'DiffusionUNetBackbone'
    assert {'aAcc', 'mIoU', 'mAcc'} <= set(metrics), metrics
    assert 0 <= metrics['mIoU'] <= 100


@pytest.fixture(scope='module')
def synthetic_keypoints_root(tmp_path_factory):
    """Generated COCO-keypoints-format data: 24 training and 8 validation images of 64 px."""
    out = tmp_path_factory.mktemp('synthetic-keypoints')
    run_tool('tools/dataset_converters/generate_synthetic.py', '--out', str(out), '--formats',
             'coco_keypoints', '--num-train', '24', '--num-val', '8', '--size', '64',
             '--seed', '0')
    return str(out / 'coco_keypoints')


def test_topdown_pose_project_trains_and_reports_coco_ap(tiny_sd_dir, synthetic_keypoints_root,
                                                        tmp_path):
    """mmpose's SimpleBaseline heatmap model with the diffusion backbone, at 256x192."""
    config = osp.join(PROJECTS, 'diffusion_backbone_in_topdown_pose/configs/'
                      'td-hm_sd15-diffusion-unet_8xb64-210e_coco-256x192.py')
    root = synthetic_keypoints_root
    overrides = {
        'model.backbone.pretrained': tiny_sd_dir,
        # the tiny VAE's 4x stride already gives the codec's 64x48 heatmap: no deconvolution
        'model.head.in_channels': TINY_WIDTHS[0],
        'model.head.deconv_out_channels': None,
        'model.head.deconv_kernel_sizes': None,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 2,
        **_quick('train_dataloader', 4, 12), **_quick('val_dataloader', 4, None),
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.bbox_file': None,  # ground-truth person boxes
        'val_evaluator.ann_file': osp.join(root, 'annotations/person_keypoints_val2017.json'),
    }
    cfg = load_config(config, tmp_path, **overrides)
    assert cfg.default_scope == 'mmpose' and cfg.model.type == 'TopdownPoseEstimator'
    runner, metrics = _train_then_validate(cfg)
    assert runner.iter == 3 and osp.isfile(tmp_path / 'epoch_1.pth')
    assert type(runner.model.backbone).__name__ == 'DiffusionUNetBackbone'
    assert {'coco/AP', 'coco/AR'} <= set(metrics), metrics
    assert 0 <= metrics['coco/AP'] <= 1
