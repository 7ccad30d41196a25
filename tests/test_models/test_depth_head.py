"""DiffusionDepthHead inside mmseg's DepthEstimator: shapes, range, loss, errors, learning.

A tiny stand-in backbone (four maps at strides 8/16/32/64) keeps these tests independent
of the diffusion backbone.
"""
import copy
import math

import pytest
import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.model import BaseModule
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, init_default_scope
from mmengine.structures import PixelData
from mmseg.evaluation import DepthMetric
from mmseg.structures import SegDataSample

from mmgeneralist.models import DiffusionDepthHead

CHANNELS = (16, 32, 32, 32)
MAX_DEPTH = 10.0


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """One intra-op thread: on a small shared CPU, two threads next to another busy
    process slow these tiny models down several-fold."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@MODELS.register_module(force=True)
class DepthHeadTestStrideBackbone(BaseModule):
    """Four feature maps at strides 8, 16, 32 and 64, highest resolution first."""

    def __init__(self, channels=CHANNELS):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels[0], 8, stride=8), nn.ReLU())
        self.downs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU())
            for cin, cout in zip(channels[:-1], channels[1:]))

    def forward(self, x):
        feats = [self.stem(x)]
        for down in self.downs:
            feats.append(down(feats[-1]))
        return tuple(feats)


def _model_cfg(test_cfg=None, **head):
    return ConfigDict(
        type='DepthEstimator',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[127.5] * 3, std=[127.5] * 3,
                               size_divisor=64, pad_val=0, seg_pad_val=0,
                               test_cfg=dict(size_divisor=64)),
        backbone=dict(type='DepthHeadTestStrideBackbone'),
        decode_head=dict(type='DiffusionDepthHead', in_channels=CHANNELS, channels=32,
                         max_depth=MAX_DEPTH, **head),
        test_cfg=test_cfg or dict(mode='whole'))


def _build(test_cfg=None, seed=0, **head):
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    return MODELS.build(_model_cfg(test_cfg, **head))


def _sample(h, w, depth=None):
    """A SegDataSample as LoadDepthAnnotation + PackSegInputs produce it."""
    sample = SegDataSample(metainfo=dict(ori_shape=(h, w), img_shape=(h, w)))
    if depth is not None:
        sample.gt_depth_map = PixelData(data=depth[None].float())
    return sample


def _synthetic(n, size=64, seed=0):
    """Images of smooth random brightness fields; depth = 1 + 8 * brightness (in m)."""
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size),
                            indexing='ij')
    images, depths = [], []
    for _ in range(n):
        a, b, c, f, p = torch.rand(5, generator=g)
        field = a * xs + b * ys + c * torch.sin(2 * math.pi * (1 + 2 * f) * xs + 6 * p)
        field = (field - field.min()) / (field.max() - field.min())
        tint = 0.5 + 0.5 * torch.rand(3, 1, 1, generator=g)
        images.append((255 * tint * field).round().to(torch.uint8))
        depths.append(1 + 8 * field)
    return images, depths


def test_segmentor_reads_the_stated_attributes():
    model = _build()
    assert isinstance(model.decode_head, DiffusionDepthHead)
    assert (model.num_classes, model.out_channels, model.align_corners) == (1, 1, False)


@pytest.mark.parametrize('test_cfg', [
    dict(mode='whole'),
    dict(mode='slide_flip', crop_size=(64, 64), stride=(32, 32)),
])
def test_prediction_has_input_size_and_bounded_values(test_cfg):
    model = _build(test_cfg).eval()
    h, w = 80, 112  # padded to 128 x 128 by the preprocessor, cropped back afterwards
    images, _ = _synthetic(2, size=128)
    data = dict(inputs=[img[:, :h, :w] for img in images],
                data_samples=[_sample(h, w) for _ in images])
    seen = []
    handle = model.backbone.register_forward_pre_hook(lambda m, a: seen.append(a[0].shape[-2:]))
    with torch.no_grad():
        out = model.test_step(data)
    handle.remove()
    if test_cfg['mode'] == 'whole':
        assert seen == [(128, 128)]
    else:  # 3 x 3 windows of 64 px over the padded 128 x 128, each also flipped
        assert seen == [(64, 64)] * 18
    assert len(out) == 2
    for sample in out:
        pred = sample.pred_depth_map.data
        assert pred.shape == (1, h, w)
        assert torch.isfinite(pred).all()
        assert pred.min() > 0 and pred.max() < MAX_DEPTH


def test_tensor_mode_is_the_full_resolution_depth():
    model = _build().eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 128), mode='tensor')
    assert out.shape == (2, 1, 64, 128)


def test_norm_layers_and_other_input_strides():
    head = DiffusionDepthHead(in_channels=CHANNELS, channels=16, in_stride=4,
                              norm_cfg=dict(type='BN'), max_depth=80.0)
    feats = [torch.randn(2, c, 9 // 2**i + 1, 7 // 2**i + 1) for i, c in enumerate(CHANNELS)]
    out = head(feats)  # odd sizes 10x8, 5x4, 3x2, 2x1: each block upsamples to the next
    assert out.shape == (2, 1, 40, 32)
    assert out.min() > 0 and out.max() < 80.0


def test_loss_is_finite_and_reaches_every_head_parameter():
    model = _build().train()
    images, depths = _synthetic(2)
    depths[0][:8] = 0  # missing depth, ignored by SiLogLoss
    data = model.data_preprocessor(
        dict(inputs=images, data_samples=[_sample(64, 64, d) for d in depths]), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'decode.loss_silog'}
    loss = losses['decode.loss_silog']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    for name, param in model.decode_head.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in model.decode_head.parameters())


def test_loss_resizes_the_prediction_to_the_ground_truth():
    head = _build().decode_head
    feats = [torch.randn(1, c, 8 // 2**i, 8 // 2**i) for i, c in enumerate(CHANNELS)]
    sample = _sample(48, 40, torch.rand(48, 40) * 5 + 1)
    losses = head.loss(feats, [sample], None)
    assert torch.isfinite(losses['loss_silog'])


def test_wrong_inputs_give_clear_errors():
    head = DiffusionDepthHead(in_channels=CHANNELS, channels=8)
    feats = [torch.randn(1, c, 8 // 2**i, 8 // 2**i) for i, c in enumerate(CHANNELS)]
    with pytest.raises(ValueError, match='got 3 feature maps but was built for 4'):
        head(feats[:3])
    bad = list(feats)
    bad[1] = torch.randn(1, 5, 4, 4)
    with pytest.raises(ValueError, match=r'\(16, 5, 32, 32\) channels'):
        head(bad)
    with pytest.raises(ValueError, match='highest resolution first'):
        head([torch.randn(1, c, 2**i, 2**i) for i, c in enumerate(CHANNELS)])
    with pytest.raises(ValueError, match='list or tuple'):
        head(feats[0])
    with pytest.raises(ValueError, match='non-empty sequence'):
        DiffusionDepthHead(in_channels=[])
    with pytest.raises(ValueError, match='in_stride'):
        DiffusionDepthHead(in_channels=CHANNELS, in_stride=3)


def test_wrong_in_channels_fail_inside_the_segmentor():
    init_default_scope('mmseg')
    cfg = _model_cfg()
    cfg.decode_head.in_channels = CHANNELS[:3]
    model = MODELS.build(cfg)
    with pytest.raises(ValueError, match='make in_channels match'):
        model(torch.randn(1, 3, 64, 64), mode='tensor')


def _rmse(pred_and_gt):
    metric = DepthMetric()
    metric.process({}, [dict(pred_depth_map=dict(data=p), gt_depth_map=dict(data=g))
                        for p, g in pred_and_gt])
    return metric.compute_metrics(metric.results)['rmse']


def test_learns_a_synthetic_depth_regression():
    model = _build(seed=0).train()
    images, depths = _synthetic(8, seed=1)
    samples = [_sample(64, 64, d) for d in depths]
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0))
    for _ in range(100):
        log = model.train_step(dict(inputs=images, data_samples=copy.deepcopy(samples)),
                               optim)
    assert math.isfinite(log['loss'].item())

    # The constant predictor is the mean depth of the training targets, scored by mmseg's
    # DepthMetric like the model, on the training images and on 4 unseen ones.
    mean_depth = float(torch.stack(depths).mean())
    model.eval()
    for name, (imgs, gt_maps) in dict(train=(images, depths),
                                      unseen=_synthetic(4, seed=2)).items():
        with torch.no_grad():
            out = model.test_step(dict(inputs=imgs,
                                       data_samples=[_sample(64, 64) for _ in imgs]))
        gts = [d[None] for d in gt_maps]
        head_rmse = _rmse([(o.pred_depth_map.data, g) for o, g in zip(out, gts)])
        constant_rmse = _rmse([(torch.full_like(g, mean_depth), g) for g in gts])
        print(f'{name}: head RMSE {head_rmse:.3f} m, constant RMSE {constant_rmse:.3f} m')
        assert head_rmse < 0.5 * constant_rmse, name
