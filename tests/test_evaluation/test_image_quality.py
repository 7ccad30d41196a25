"""ImageQualityMetric: PSNR against a hand computation, SSIM's behaviour, errors."""
import math

import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import METRICS, DefaultScope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmgeneralist  # noqa: F401  (registers the modules)
from mmgeneralist.datasets import generate_synthetic
from mmgeneralist.evaluation import ImageQualityMetric


def rand_img(seed, shape=(3, 40, 48)):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8))


def sample(pred, gt, **meta):
    return dict(pred_image=dict(data=pred), gt_image=dict(data=gt), **meta)


def evaluate(metric, pairs):
    metric.process({}, [sample(p, g) for p, g in pairs])
    return metric.evaluate(len(pairs))


def hand_psnr(pred, gt):
    """10 log10(255^2 / MSE) in float64 (torchmetrics takes log(10) in float32, so the two
    agree to about 1e-8 relative)."""
    mse = np.mean((pred.numpy().astype(np.float64) - gt.numpy().astype(np.float64)) ** 2)
    return 10 * math.log10(255.0 ** 2 / mse)


def smooth_image(size=64):
    """A smooth RGB image (gradients and a disc), where added noise is visible to SSIM."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    r = 40 + 150 * x / size
    g = 60 + 120 * y / size
    b = np.where((x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 4) ** 2, 200.0, 50.0)
    return np.stack([r, g, b]).round().astype(np.uint8)


def test_identical_images():
    """Zero MSE: torchmetrics' PSNR is inf, kept as is (not clamped); SSIM is 1."""
    gt = rand_img(0)
    metric = ImageQualityMetric()
    result = evaluate(metric, [(gt.clone(), gt), (gt.float(), gt)])
    assert math.isinf(result['PSNR']) and result['PSNR'] > 0
    assert result['SSIM'] == pytest.approx(1.0, abs=1e-12)


def test_psnr_matches_hand_computation():
    pairs = [(rand_img(2 * k), rand_img(2 * k + 1)) for k in range(3)]
    expected = [hand_psnr(p, g) for p, g in pairs]
    metric = ImageQualityMetric()
    for (p, g), e in zip(pairs, expected):
        assert metric.image_metrics(p, g)['PSNR'] == pytest.approx(e, rel=1e-7)
    result = evaluate(ImageQualityMetric(), pairs)
    # the mean of the per-image PSNRs, not the PSNR of the pooled MSE
    assert result['PSNR'] == pytest.approx(sum(expected) / 3, rel=1e-7)
    pooled = 10 * math.log10(255.0 ** 2 / np.mean(
        [np.mean((p.numpy() / 1.0 - g.numpy()) ** 2) for p, g in pairs]))
    assert result['PSNR'] != pytest.approx(pooled, abs=1e-6)


def test_ssim_decreases_with_noise():
    gt = torch.from_numpy(smooth_image())
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(gt.shape)
    ssim, psnr = [], []
    for sigma in (2, 8, 25, 60):
        noisy = torch.from_numpy(np.clip(gt.numpy() + sigma * noise, 0, 255).round()
                                 .astype(np.uint8))
        m = ImageQualityMetric().image_metrics(noisy, gt)
        ssim.append(m['SSIM'])
        psnr.append(m['PSNR'])
    assert all(a > b for a, b in zip(ssim, ssim[1:])), ssim
    assert all(a > b for a, b in zip(psnr, psnr[1:])), psnr
    assert ssim[0] < 1 and ssim[-1] < 0.5


def test_ssim_settings_are_torchmetrics_defaults():
    """Gaussian 11x11, sigma 1.5, data_range 255, channels averaged."""
    from torchmetrics.functional.image import structural_similarity_index_measure
    pred = rand_img(5).double()
    gt = torch.from_numpy(smooth_image(48)[:, :40].copy()).double()
    expected = structural_similarity_index_measure(pred[None], gt[None], data_range=255.0)
    per_channel = [structural_similarity_index_measure(pred[None, c:c + 1], gt[None, c:c + 1],
                                                       data_range=255.0) for c in range(3)]
    got = ImageQualityMetric().image_metrics(pred, gt)['SSIM']
    assert got == pytest.approx(expected.item(), abs=1e-12)
    assert got == pytest.approx(sum(p.item() for p in per_channel) / 3, abs=1e-12)


def test_prediction_is_clamped():
    gt = rand_img(1)
    pred = gt.double()
    pred[gt == 0] = -20.0
    pred[gt == 255] = 300.0
    assert math.isinf(ImageQualityMetric().image_metrics(pred, gt)['PSNR'])


def test_crop_border():
    gt = rand_img(3)
    pred = gt.clone()
    pred[:, :2] = 255 - pred[:, :2]  # differ only in the two top rows
    assert math.isfinite(ImageQualityMetric().image_metrics(pred, gt)['PSNR'])
    assert math.isinf(ImageQualityMetric(crop_border=2).image_metrics(pred, gt)['PSNR'])
    with pytest.raises(ValueError, match='crop_border'):
        ImageQualityMetric(crop_border=-1)
    with pytest.raises(ValueError, match='smaller than the 11x11 SSIM window'):
        ImageQualityMetric(crop_border=15).image_metrics(pred, gt)


def test_size_mismatch_raises_with_the_file():
    metric = ImageQualityMetric()
    with pytest.raises(ValueError, match=r"t\.png.*differ in shape.*ground truth's size"):
        metric.process({}, [sample(rand_img(0, (3, 32, 32)), rand_img(1, (3, 40, 48)),
                                   gt_img_path='t.png')])
    with pytest.raises(ValueError, match=r'\(C, H, W\)'):
        metric.image_metrics(rand_img(0)[0], rand_img(1)[0])
    with pytest.raises(KeyError, match='pred_image'):
        metric.process({}, [dict(gt_image=dict(data=rand_img(1)))])


def test_registry_prefix_and_evaluator_on_generated_pairs(tmp_path):
    """Packed restoration samples through mmengine's Evaluator: the degraded input as the
    prediction scores the hand-computed PSNR (both in RGB)."""
    root = generate_synthetic(str(tmp_path), ['restoration'], 1, 2, 32, seed=0)['restoration']
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadRestorationTarget'),
                dict(type='PackRestorationInputs')]
    with DefaultScope.overwrite_default_scope('mmseg'):
        from mmengine.registry import DATASETS
        dataset = DATASETS.build(dict(type='PairedRestorationDataset', data_root=root,
                                      task='denoise', split='val', pipeline=pipeline,
                                      test_mode=True))
        metric = METRICS.build(dict(type='ImageQualityMetric', prefix='restore'))
    assert isinstance(metric, ImageQualityMetric)
    evaluator = Evaluator(metric)
    expected = []
    for idx in range(len(dataset)):
        item = dataset[idx]
        ds: SegDataSample = item['data_samples']
        pred = item['inputs'].flip(0)  # BGR input -> RGB prediction
        ds.pred_image = PixelData(data=pred)
        rgb_in = cv2.imread(ds.img_path)[..., ::-1].transpose(2, 0, 1).copy()
        rgb_gt = cv2.imread(ds.gt_img_path)[..., ::-1].transpose(2, 0, 1).copy()
        expected.append(hand_psnr(torch.from_numpy(rgb_in), torch.from_numpy(rgb_gt)))
        evaluator.process([ds], dict(inputs=[item['inputs']], data_samples=[ds]))
    result = evaluator.evaluate(len(dataset))
    assert set(result) == {'restore/PSNR', 'restore/SSIM'}
    assert result['restore/PSNR'] == pytest.approx(sum(expected) / len(expected), rel=1e-7)
    assert 0 < result['restore/SSIM'] < 1
