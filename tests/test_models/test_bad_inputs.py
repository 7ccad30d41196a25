"""Odd sizes, grayscale and RGBA images go through the tiny VPD model and come back whole."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import MODELS, init_default_scope

from ..conftest import TINY_VPD_CONFIG


@pytest.fixture(scope='module')
def model_and_pipeline(tiny_sd_dir):
    cfg = Config.fromfile(TINY_VPD_CONFIG)
    cfg.model.backbone.pretrained = tiny_sd_dir
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model).eval()
    pipeline = Compose([t for t in cfg.test_pipeline if t['type'] != 'LoadAnnotations'])
    return model, pipeline


def _predict(model, pipeline, path):
    data = pipeline(dict(img_path=str(path), reduce_zero_label=True, seg_fields=[]))
    seen = []
    handle = model.backbone.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape))
    with torch.no_grad():
        out = model.test_step(dict(inputs=[data['inputs']], data_samples=[data['data_samples']]))
    handle.remove()
    return data, seen[0], out[0].pred_sem_seg.data


@pytest.mark.parametrize('kind,shape', [('gray', (70, 90)), ('rgba', (61, 130)),
                                        ('rgb', (64, 200))])
def test_odd_sizes_and_modes_predict_at_original_size(model_and_pipeline, tmp_path, kind,
                                                       shape):
    model, pipeline = model_and_pipeline
    rng = np.random.default_rng(0)
    h, w = shape
    if kind == 'gray':
        path = tmp_path / 'gray.jpg'
        cv2.imwrite(str(path), rng.integers(0, 255, (h, w), dtype=np.uint8))
    elif kind == 'rgba':
        path = tmp_path / 'rgba.png'
        cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 4), dtype=np.uint8))
    else:
        path = tmp_path / 'rgb.png'
        cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    data, backbone_input, pred = _predict(model, pipeline, path)
    assert data['inputs'].shape == (3, h, w)  # converted to 3 channels by LoadImageFromFile
    assert backbone_input[-2:] == (-(-h // 64) * 64, -(-w // 64) * 64)  # padded to /64 ...
    assert pred.shape == (1, h, w)  # ... and the prediction cropped back
    assert int(pred.max()) < len(model.backbone.class_names)
