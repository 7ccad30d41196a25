"""The tiny pixel generalist, trained on four tasks at once, beats each task's trivial
predictor, scored by the same upstream metric in the same validation.

One run of mmengine's Runner trains the tiny multi-task config (semantic segmentation on
ADE20K-format data, depth on NYUv2-format data, panoptic on COCO-panoptic-format data,
low-light enhancement on paired images) and validates it: mmseg's IoUMetric and DepthMetric,
mmdet's CocoPanopticMetric and the PSNR/SSIM metric report in one validation. The trivial
predictors (:func:`mmgeneralist.evaluation.multi_task_trivial_metrics`) go through the same
evaluator: the training majority class, the training mean depth, every pixel "floor" (stuff)
for PQ, and the corrupted input itself for the restoration. A second evaluation of the saved
checkpoint, through the test loop, must give the same metrics: sampling is seeded.
"""
import pytest
from mmengine.runner import Runner

from mmgeneralist.evaluation import multi_task_trivial_metrics

from ..conftest import ROOT, load_config, multitask_overrides

pytestmark = pytest.mark.slow(seconds=400)  # each test, one thread of the CI machine

TINY_GENERALIST = (f'{ROOT}/configs/pixel_generalist/'
                   'pixel-generalist_tiny-convnext_1xb8-600_synthetic-multitask-32x32.py')
KEYS = ('semantic/mIoU', 'depth/rmse', 'panoptic/coco_panoptic/PQ', 'lowlight/PSNR',
        'lowlight/SSIM')


def test_tiny_generalist_beats_trivial_predictors(tiny_sd_dir, synthetic_multitask_root,
                                                  tmp_path):
    iters = 400
    cfg = load_config(TINY_GENERALIST, tmp_path, **multitask_overrides(
        tiny_sd_dir, synthetic_multitask_root, **{
            'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
            'param_scheduler.1.end': iters, 'default_hooks.checkpoint.interval': iters}))
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    model = {k: float(hub.get_scalar(f'val/{k}').current()) for k in KEYS}
    trivial = multi_task_trivial_metrics(cfg)
    print('tiny pixel generalist vs trivial predictors:')
    for k in KEYS:
        print(f'  {k:28s} {model[k]:8.3f} vs {trivial[k]:8.3f}')
    assert model['semantic/mIoU'] > trivial['semantic/mIoU'] + 15, (model, trivial)
    assert model['depth/rmse'] < 0.7 * trivial['depth/rmse'], (model, trivial)
    assert model['panoptic/coco_panoptic/PQ'] > trivial['panoptic/coco_panoptic/PQ'] + 5
    assert model['lowlight/SSIM'] > trivial['lowlight/SSIM'] + 0.1, (model, trivial)
    assert model['lowlight/PSNR'] > trivial['lowlight/PSNR'] + 3, (model, trivial)

    # the saved weights, evaluated again through the test loop: the same metrics
    cfg.load_from = str(tmp_path / f'iter_{iters}.pth')
    cfg.work_dir = str(tmp_path / 'test')
    again = Runner.from_cfg(cfg).test()
    assert {k: float(again[k]) for k in KEYS} == model
