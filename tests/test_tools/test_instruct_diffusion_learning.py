"""The tiny InstructDiffusion editor, trained and validated by each task's upstream metric,
beside the trivial predictor scored by the same metrics: the editor that leaves every image
unchanged, decoded by the same colour decoders (every keypoint at the centre of its crop,
which is its box's centre, with score 0; no mask for any class or sentence; the dark input
as the enhanced image).

1. The multi-task config. One run of mmengine's Runner trains it (keypoints on COCO-keypoint
   format data, semantic segmentation on ADE20K format, referring segmentation on RefCOCO
   format, low-light enhancement on paired images; all from the generator) and validates it:
   mmpose's CocoMetric, mmseg's IoUMetric, mmdet's RefSegMetric and the PSNR/SSIM metric
   report in one validation. In its 400 iterations the editor learns the enhancement (it
   brightens the dark image far beyond the input's PSNR) and begins semantic masks; its
   keypoint and referring metrics are printed, not asserted. The mmseg and mmdet tiny configs
   then evaluate the checkpoint in their own runners, to the same numbers.
2. The keypoints config, in mmpose's runner, trains its own model on keypoints alone: its
   circles land nearer the asked part than the box centre (PCK@0.2).
"""
from unittest import mock

import pytest
from mmengine.runner import Runner

from mmgeneralist.models.editors import InstructionEditor

from ..conftest import EDITOR_FOLDERS, ROOT, editor_task_overrides, load_config

CONFIGS = f'{ROOT}/configs/instruct_diffusion'
TINY = f'{CONFIGS}/instruct-diffusion_tiny_1xb8-1k_synthetic-multitask-32x32.py'
#: each task's own tiny config (its codebase's runner and metric), and its metric keys
OWN_CONFIGS = {
    'semantic': ('instruct-diffusion_tiny_1xb8-1k_synthetic-ade-32x32.py', 'mIoU'),
    'referring': ('instruct-diffusion_tiny_1xb8-1k_synthetic-refcoco-32x32.py', 'cIoU'),
    'lowlight': ('instruct-diffusion_tiny_1xb8-1k_synthetic-lowlight-32x32.py', 'PSNR'),
}
#: the keypoints config (mmpose's runner), which trains its own model, on keypoints alone
KEYPOINTS = f'{CONFIGS}/instruct-diffusion_tiny_1xb8-1.5k_synthetic-keypoints-32x32.py'
KEYS = ('keypoint/coco/AP', 'semantic/mIoU', 'referring/cIoU', 'lowlight/PSNR',
        'lowlight/SSIM')


def _overrides(sd_dir, root, iters=None) -> dict:
    opts = {'model.pretrained': sd_dir}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for task, folder in EDITOR_FOLDERS.items():
            opts[f'{loader}.dataset.datasets.{task}.data_root'] = f'{root}/{folder}'
    ann = f'{root}/coco_keypoints/annotations/person_keypoints_val2017.json'
    for evaluator in ('val_evaluator', 'test_evaluator'):
        opts[f'{evaluator}.metrics.keypoint.ann_file'] = ann
    if iters:
        opts.update({'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
                     'param_scheduler.1.end': iters,
                     'default_hooks.checkpoint.interval': iters})
    return opts


def _unchanged(self, images, instructions, generator=None, **kwargs):
    """The trivial editor: every edit is the source image itself."""
    return images.clamp(-1, 1)


def _train_against_unchanged(runner, keys) -> tuple[dict, dict]:
    """Train with ``runner``; return its last validation's ``keys`` and those of the same
    validation run with the trivial editor (:func:`_unchanged`)."""
    runner.train()
    hub = runner.message_hub
    model = {k: float(hub.get_scalar(f'val/{k}').current()) for k in keys}
    with mock.patch.object(InstructionEditor, 'edit', _unchanged):
        trivial = {k: float(v) for k, v in runner.val_loop.run().items() if k in keys}
    return model, trivial


@pytest.mark.slow(seconds=340)  # one thread of the CI machine
def test_tiny_editor_beats_trivial_predictors(tiny_editor_sd_dir, synthetic_editor_root,
                                              tmp_path):
    iters = 400
    cfg = load_config(TINY, tmp_path, **_overrides(tiny_editor_sd_dir, synthetic_editor_root,
                                                    iters))
    runner = Runner.from_cfg(cfg)
    model, trivial = _train_against_unchanged(runner, KEYS)
    print('tiny InstructDiffusion editor vs the unchanged image:')
    for k in KEYS:
        print(f'  {k:20s} {model[k]:8.3f} vs {trivial[k]:8.3f}')
    assert model['lowlight/PSNR'] > trivial['lowlight/PSNR'] + 3, (model, trivial)
    # measured: 8.6 against 4.9 (7.7 and 8.3 for seeds 0 and 1 with a VAE fitted on two
    # threads)
    assert model['semantic/mIoU'] > trivial['semantic/mIoU'] + 2, (model, trivial)
    assert model['lowlight/SSIM'] > trivial['lowlight/SSIM'] + 0.1, (model, trivial)
    # the unchanged image is what the decoders read as "nothing drawn"
    assert trivial['keypoint/coco/AP'] == 0 and trivial['referring/cIoU'] < 1, trivial

    # each task's own config, in its own codebase's runner, on the saved weights: the same
    for task, (name, key) in OWN_CONFIGS.items():
        own = load_config(f'{CONFIGS}/{name}', tmp_path / task, **editor_task_overrides(
            tiny_editor_sd_dir, synthetic_editor_root, task))
        own.load_from = str(tmp_path / f'iter_{iters}.pth')
        metrics = Runner.from_cfg(own).test()
        assert float(metrics[key]) == pytest.approx(model[f'{task}/{key}'], abs=1e-6), task


@pytest.mark.slow(seconds=540)  # one thread of the CI machine
def test_tiny_editor_learns_keypoints(tiny_editor_sd_dir, synthetic_editor_root, tmp_path):
    """The keypoints config, trained as it is (1500 iterations on keypoints alone) in
    mmpose's runner, puts the asked part's circle nearer the truth than the box centre:
    mmpose's PCK@0.2 of the box against the unchanged image's, whose decoder finds no
    circle and so returns the crop's centre, which is the box's. COCO AP is printed for
    both: at 32 px crops of persons about 25 px tall it asks for sub-pixel placement (an
    eye's OKS is below 0.1 at 2 px), and both stay about 0."""
    cfg = load_config(KEYPOINTS, tmp_path, **editor_task_overrides(
        tiny_editor_sd_dir, synthetic_editor_root, 'keypoint'))
    keys = ('coco/AP', 'coco/AP .5', 'PCK')
    model, trivial = _train_against_unchanged(Runner.from_cfg(cfg), keys)
    print(f'tiny editor after {cfg.train_cfg.max_iters} keypoint iterations vs the box centre:')
    for k in keys:
        print(f'  {k:12s} {model[k]:6.3f} vs {trivial[k]:6.3f}')
    # measured: 0.39 against 0.16
    assert model['PCK'] > trivial['PCK'] + 0.15, (model, trivial)
