"""The main job in small: tiny VPD trained by tools/train.py beats a constant predictor."""
import json

import pytest

from ..conftest import TINY_VPD_CONFIG, run_tool, tiny_cfg_options

pytestmark = pytest.mark.slow

ITERS = 300


def test_tiny_vpd_beats_constant_predictor(tiny_sd_dir, synthetic_ade_root, tmp_path):
    opts = tiny_cfg_options(tiny_sd_dir, synthetic_ade_root, **{
        'train_cfg.max_iters': ITERS,
        'train_cfg.val_interval': ITERS,
        'param_scheduler.1.end': ITERS,
        'default_hooks.checkpoint.interval': ITERS,
    })
    run_tool('tools/train.py', TINY_VPD_CONFIG, '--work-dir', str(tmp_path), *opts)
    out = tmp_path / 'eval.json'
    run_tool('tools/analysis_tools/eval_vs_trivial.py', TINY_VPD_CONFIG,
             str(tmp_path / f'iter_{ITERS}.pth'), '--json', str(out), *opts)
    result = json.loads(out.read_text())
    model, trivial = result['model']['mIoU'], result['trivial']['mIoU']
    print(f'tiny VPD mIoU {model:.2f} vs constant predictor {trivial:.2f}')
    assert trivial < 20  # a constant predictor scores one class's IoU / number of classes
    assert model > trivial + 15, (model, trivial)
