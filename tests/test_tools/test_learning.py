"""Each tiny model, trained by mmengine's Runner, beats a trivial predictor on the same data.

Training runs in the test process, as ``tools/train.py`` would run it (its command line is
tested in test_train_tools.py), so the imports are paid once. The trivial predictors are
measured by :func:`mmgeneralist.evaluation.compare_with_trivial` (what
tools/analysis_tools/eval_vs_trivial.py prints) with the config's own metric on the same
validation split: the training majority class for
segmentation (mIoU), the training mean depth for depth (RMSE; AbsRel after the per-image
least-squares alignment for GenPercept's affine-invariant depth, which turns a constant
into each image's own mean depth).
"""
import json

import cv2
import pytest

from mmgeneralist.evaluation import compare_with_trivial
from mmgeneralist.utils.visualization import enable_visualization
from mmgeneralist.visualization import write_summary

from ..conftest import ROOT, TINY_VPD_CONFIG, tiny_overrides, train_in_process

pytestmark = pytest.mark.slow(seconds=120)  # each test, one thread of the CI machine

TINY_VPD_DEPTH = f'{ROOT}/configs/vpd/vpd_tiny-dpt_1xb8-600_synthetic-nyu-64x64.py'
TINY_GENPERCEPT_DEPTH = (
    f'{ROOT}/configs/genpercept/genpercept_tiny-dpt_1xb8-600_synthetic-nyu-64x64.py')
TINY_GENPERCEPT_STAGE1 = (
    f'{ROOT}/configs/genpercept/genpercept_tiny-latent_1xb8-300_synthetic-ade-64x64.py')
TINY_GENPERCEPT_STAGE2 = (
    f'{ROOT}/configs/genpercept/genpercept_tiny-upernet_1xb8-600_synthetic-ade-64x64.py')


def _schedule(iters, **extra):
    return {
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'param_scheduler.1.end': iters,
        'default_hooks.checkpoint.interval': iters,
        **extra,
    }


def train_and_compare(config, sd_dir, data_root, work_dir, iters, show_dir=None, **extra):
    """Train ``iters`` iterations, then return ``(model, trivial)`` metrics (painting the
    test images into ``show_dir``, as ``--show-dir`` does, if given)."""
    cfg = train_in_process(config, work_dir, **tiny_overrides(sd_dir, data_root,
                                                               **_schedule(iters, **extra)))
    if show_dir:
        enable_visualization(cfg, show_dir)
    result = compare_with_trivial(cfg, str(work_dir / f'iter_{iters}.pth'))
    return result['model'], result['trivial']


def test_tiny_vpd_beats_constant_predictor(tiny_sd_dir, synthetic_ade_root, tmp_path):
    model, trivial = train_and_compare(TINY_VPD_CONFIG, tiny_sd_dir, synthetic_ade_root,
                                       tmp_path, 300, show_dir=str(tmp_path / 'vis'))
    # the quick start's pictures: input | ground truth | prediction per test image, and the
    # summary of a dozen under the metrics
    pictures = sorted((tmp_path / 'vis').rglob('*.png'))
    assert len(pictures) == 48 and all('ADE_val' in p.name for p in pictures)
    summary = write_summary(str(tmp_path / 'vis'), ['mIoU ...'])
    assert summary and cv2.imread(summary).shape[0] > 6 * 256  # 12 pictures, 2 a row
    print(f'tiny VPD mIoU {model["mIoU"]:.2f} vs constant predictor {trivial["mIoU"]:.2f}')
    assert trivial['mIoU'] < 20  # a constant scores one class's IoU / number of classes
    assert model['mIoU'] > trivial['mIoU'] + 15, (model, trivial)


def test_tiny_vpd_depth_beats_mean_depth(tiny_sd_dir, synthetic_nyu_root, tmp_path):
    model, trivial = train_and_compare(TINY_VPD_DEPTH, tiny_sd_dir, synthetic_nyu_root,
                                       tmp_path, 300)
    print(f'tiny VPD depth RMSE {model["rmse"]:.3f} AbsRel {model["abs_rel"]:.3f} d1 '
          f'{model["d1"]:.3f} vs mean depth RMSE {trivial["rmse"]:.3f} AbsRel '
          f'{trivial["abs_rel"]:.3f} d1 {trivial["d1"]:.3f}')
    assert model['rmse'] < trivial['rmse'], (model, trivial)
    assert model['abs_rel'] < 0.8 * trivial['abs_rel'], (model, trivial)
    assert model['d1'] > trivial['d1'] + 0.15, (model, trivial)


def test_tiny_genpercept_depth_beats_mean_depth(tiny_sd_dir, synthetic_nyu_root, tmp_path):
    model, trivial = train_and_compare(TINY_GENPERCEPT_DEPTH, tiny_sd_dir,
                                       synthetic_nyu_root, tmp_path, 300)
    print(f'tiny GenPercept AbsRel {model["abs_rel"]:.3f} delta1 {model["delta1"]:.3f} vs '
          f'mean depth AbsRel {trivial["abs_rel"]:.3f} delta1 {trivial["delta1"]:.3f}')
    assert model['abs_rel'] < 0.75 * trivial['abs_rel'], (model, trivial)
    assert model['delta1'] > trivial['delta1'], (model, trivial)


def test_tiny_genpercept_two_stage_segmentation(tiny_sd_dir, synthetic_ade_root, tmp_path):
    """Stage 1 lowers its latent loss; stage 2 starts from its UNet and beats a constant."""
    stage1 = tmp_path / 'stage1'
    train_in_process(TINY_GENPERCEPT_STAGE1, stage1, **tiny_overrides(
        tiny_sd_dir, synthetic_ade_root, **_schedule(60, **{
            'default_hooks.logger.interval': 10,
            'model.decode_head.pretrained': tiny_sd_dir,  # the VAE head's folder too
        })))
    losses = [json.loads(line)['loss'] for line in
              next(stage1.glob('*/vis_data/scalars.json')).read_text().splitlines()
              if '"loss"' in line]
    print(f'stage-1 latent loss {losses[0]:.4f} -> {losses[-1]:.4f}')
    assert losses[-1] < 0.8 * losses[0], losses
    model, trivial = train_and_compare(
        TINY_GENPERCEPT_STAGE2, tiny_sd_dir, synthetic_ade_root, tmp_path / 'stage2', 300,
        load_from=str(stage1 / 'iter_60.pth'))
    # the first run in the folder is the training (the evaluation's log comes after it)
    stage2_log = sorted((tmp_path / 'stage2').glob('*/*.log'))[0].read_text()
    assert f'Load checkpoint from {stage1}/iter_60.pth' in stage2_log  # stage 2 starts there
    print(f'tiny GenPercept stage 2 mIoU {model["mIoU"]:.2f} vs constant {trivial["mIoU"]:.2f}')
    assert model['mIoU'] > trivial['mIoU'] + 10, (model, trivial)
