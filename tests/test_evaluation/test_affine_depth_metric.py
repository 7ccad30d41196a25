"""AffineInvariantDepthMetric: alignment (depth and disparity), clipping as released,
hand-checked values, invalid pixels, building."""
import math

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import mmgeneralist  # noqa: F401  (registers)
from mmgeneralist.evaluation import AffineInvariantDepthMetric, fit_scale_shift


def _evaluate(metric, pairs):
    metric.process({}, [dict(pred_depth_map=dict(data=torch.as_tensor(p)[None]),
                             gt_depth_map=dict(data=torch.as_tensor(g)[None]))
                        for p, g in pairs])
    return metric.evaluate(len(pairs))


def _gts(n=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.5, 10, size=(12, 16)).astype(np.float32) for _ in range(n)]


def test_affine_prediction_is_perfect_after_alignment_only():
    gts = _gts()
    pairs = [(2 * g + 3, g) for g in gts]
    aligned = _evaluate(AffineInvariantDepthMetric(), pairs)
    assert set(aligned) == {'abs_rel', 'delta1', 'rmse'}
    assert aligned['abs_rel'] < 1e-6 and aligned['rmse'] < 1e-5
    assert aligned['delta1'] == 1.0
    raw = _evaluate(AffineInvariantDepthMetric(alignment='none'), pairs)
    assert raw['abs_rel'] > 1.0 and raw['delta1'] < 0.1


def _numpy_reference(pred, gt, min_pred=1e-6):
    """Direct computation: lstsq fit on valid pixels, clamp, metrics."""
    valid = gt > 0
    p, g = pred[valid].astype(np.float64), gt[valid].astype(np.float64)
    (s, t), *_ = np.linalg.lstsq(np.stack([p, np.ones_like(p)], 1), g, rcond=None)
    a = np.maximum(s * p + t, min_pred)
    return dict(abs_rel=np.mean(np.abs(a - g) / g),
                delta1=np.mean(np.maximum(a / g, g / a) < 1.25),
                rmse=np.sqrt(np.mean((a - g) ** 2)))


def test_values_match_a_direct_numpy_computation():
    gt1 = np.array([[1.0, 2.0, 3.0], [4.0, 0.0, 6.0]], dtype=np.float32)  # one invalid
    pred1 = np.array([[0.3, 0.2, 0.9], [0.8, 5.0, 1.0]], dtype=np.float32)
    gt2 = np.array([[2.0, 2.5, 1.0], [1.5, 3.0, 2.0]], dtype=np.float32)
    pred2 = np.array([[-1.0, 1.0, 0.5], [2.0, -3.0, 0.0]], dtype=np.float32)
    refs = [_numpy_reference(pred1, gt1), _numpy_reference(pred2, gt2)]
    # The fits are not trivial: some aligned values are off by more than 25 % ...
    assert 0 < refs[0]['delta1'] < 1 and 0 < refs[1]['delta1'] < 1
    got = _evaluate(AffineInvariantDepthMetric(), [(pred1, gt1), (pred2, gt2)])
    for key in ('abs_rel', 'delta1', 'rmse'):
        # ... and the metrics are averaged per image, not pooled over pixels.
        assert got[key] == pytest.approx((refs[0][key] + refs[1][key]) / 2, rel=1e-9), key


def test_fit_is_least_squares_and_constant_prediction_gets_the_mean():
    p = torch.tensor([1.0, 2.0, 4.0, 7.0], dtype=torch.float64)
    g = torch.tensor([3.0, 4.5, 9.5, 14.0], dtype=torch.float64)
    s, t = fit_scale_shift(p, g)
    (s_ref, t_ref), *_ = np.linalg.lstsq(np.stack([p.numpy(), np.ones(4)], 1), g.numpy(),
                                         rcond=None)
    assert (float(s), float(t)) == pytest.approx((s_ref, t_ref))
    s, t = fit_scale_shift(torch.full_like(p, 5.0), g)
    assert float(s) == 0 and float(t) == pytest.approx(float(g.mean()))


def test_invalid_pixels_are_ignored():
    gts = _gts(seed=1)
    rng = np.random.default_rng(2)
    preds = [0.5 * g + 1 + rng.normal(0, 0.3, g.shape).astype(np.float32) for g in gts]
    holed_gts, garbage_preds = [], []
    for p, g in zip(preds, gts):
        g, p = g.copy(), p.copy()
        g[:4] = 0  # missing depth
        g[-2:, :3] = 50  # beyond max_depth_eval
        p[:4] = rng.uniform(-1e4, 1e4, p[:4].shape)
        p[-2:, :3] = 1e6
        holed_gts.append(g)
        garbage_preds.append(p)
    # The same ground truth with the untouched predictions gives exactly the same result.
    reference = _evaluate(AffineInvariantDepthMetric(max_depth_eval=20),
                          [(p, h) for p, h in zip(preds, holed_gts)])
    holed = _evaluate(AffineInvariantDepthMetric(max_depth_eval=20),
                      list(zip(garbage_preds, holed_gts)))
    for key in reference:
        assert holed[key] == pytest.approx(reference[key], rel=1e-12), key
    assert holed['delta1'] > 0.5  # and it is a sensible score, not NaN or 0


def test_image_without_valid_pixels_is_skipped():
    gt = _gts(1)[0]
    empty = np.zeros_like(gt)
    both = _evaluate(AffineInvariantDepthMetric(), [(2 * gt, gt), (gt, empty)])
    assert both['delta1'] == 1.0
    nothing = _evaluate(AffineInvariantDepthMetric(), [(gt, empty)])
    assert all(math.isnan(v) for v in nothing.values())


def test_shape_mismatch_and_bad_arguments_are_clear():
    metric = AffineInvariantDepthMetric()
    with pytest.raises(ValueError, match='differ in shape'):
        metric.process({}, [dict(pred_depth_map=dict(data=torch.ones(1, 4, 4)),
                                 gt_depth_map=dict(data=torch.ones(1, 5, 4)))])
    with pytest.raises(ValueError, match='alignment'):
        AffineInvariantDepthMetric(alignment='median')
    with pytest.raises(ValueError, match='crop_type'):
        AffineInvariantDepthMetric(crop_type='kitti')
    for bad in ((10.0, 1.0), (0.0, 1e-7), 'dataset', (1.0, 2.0, 3.0)):
        with pytest.raises(ValueError, match='clip_range'):
            AffineInvariantDepthMetric(clip_range=bad)
    with pytest.raises(ValueError, match='clip_range'):  # 'eval_range' of an empty range
        AffineInvariantDepthMetric(min_depth_eval=5.0, max_depth_eval=5.0)


def test_builds_from_a_config_under_the_mmseg_scope():
    from mmseg.registry import METRICS
    init_default_scope('mmseg')
    metric = METRICS.build(dict(type='AffineInvariantDepthMetric', max_depth_eval=10.0,
                                crop_type='nyu_crop', prefix='affine'))
    assert isinstance(metric, AffineInvariantDepthMetric)
    assert metric.max_depth_eval == 10.0
    gt = np.full((480, 640), 2.0, dtype=np.float32)
    gt[45:471, 41:601] = np.linspace(1, 9, 560, dtype=np.float32)
    pred = np.full_like(gt, 100.0)  # garbage outside Eigen's NYU crop ...
    pred[45:471, 41:601] = 3 * gt[45:471, 41:601] - 1  # ... affine inside it
    result = _evaluate(metric, [(pred, gt)])
    assert result == pytest.approx({'affine/abs_rel': 0, 'affine/delta1': 1.0,
                                    'affine/rmse': 0}, abs=1e-5)


def test_affine_disparity_is_perfect_only_with_disparity_alignment():
    gts = _gts()
    disparity_pairs = [(2 / g + 0.5, g) for g in gts]  # affine in 1 / depth
    disp = _evaluate(AffineInvariantDepthMetric(alignment='least_squares_disparity'),
                     disparity_pairs)
    assert disp['abs_rel'] < 1e-6 and disp['rmse'] < 1e-5 and disp['delta1'] == 1.0
    depth = _evaluate(AffineInvariantDepthMetric(), disparity_pairs)
    assert depth['abs_rel'] > 0.2 and depth['delta1'] < 0.6
    # and the converse: an affine depth is not an affine disparity
    depth_pairs = [(2 * g + 3, g) for g in gts]
    wrong = _evaluate(AffineInvariantDepthMetric(alignment='least_squares_disparity'),
                      depth_pairs)
    assert wrong['abs_rel'] > 0.05 and wrong['delta1'] < 1.0


def _released_reference(pred, gt, low, high, alignment):
    """GenPercept's released eval.py steps, spelled out in numpy: valid mask from the data
    set's range, lstsq (in depth, or in disparity on pred > 0), the 1e-3 disparity floor,
    the clip to the data set's range, the 1e-6 floor; metrics on the valid pixels."""
    pred, gt = pred.astype(np.float64), gt.astype(np.float64)
    valid = (gt > low) & (gt < high)
    if alignment == 'least_squares':
        p, g = pred[valid], gt[valid]
    else:
        fit = valid & (gt > 0) & (pred > 0)
        p, g = pred[fit], 1 / gt[fit]
    (s, t), *_ = np.linalg.lstsq(np.stack([p, np.ones_like(p)], 1), g, rcond=None)
    aligned = s * pred + t
    if alignment != 'least_squares':
        aligned = 1 / np.maximum(aligned, 1e-3)
    aligned = np.maximum(np.clip(aligned, low, high), 1e-6)
    a, g = aligned[valid], gt[valid]
    return dict(abs_rel=np.mean(np.abs(a - g) / g),
                delta1=np.mean(np.maximum(a / g, g / a) < 1.25),
                rmse=np.sqrt(np.mean((a - g) ** 2))), s * pred + t


@pytest.mark.parametrize('alignment', ['least_squares', 'least_squares_disparity'])
def test_aligned_depth_is_clipped_to_the_eval_range_as_released(alignment):
    rng = np.random.default_rng(3)
    gt = rng.uniform(0.5, 9.9, size=(12, 16))
    gt[0, :3] = 0  # missing
    pred = gt.copy() if alignment == 'least_squares' else 1 / np.maximum(gt, 0.5)
    pred = pred * rng.uniform(0.9, 1.1, size=gt.shape)
    pred[1, :4] = [40, -30, 25, -20] if alignment == 'least_squares' else [5, -1, -2, 0]
    pred = pred.astype(np.float32)
    gt = gt.astype(np.float32)
    reference, raw = _released_reference(pred, gt, 1e-3, 10.0, alignment)
    if alignment == 'least_squares':  # the clip acts at both ends
        assert raw[gt > 0].max() > 10 and raw[gt > 0].min() < 1e-3
    else:  # pixels with non-positive disparity are left out of the fit, and scored
        assert (raw[gt > 0] < 1e-3).any() and (1 / raw[gt > 0].clip(1e-3) > 10).any()
    got = _evaluate(AffineInvariantDepthMetric(min_depth_eval=1e-3, max_depth_eval=10.0,
                                               alignment=alignment), [(pred, gt)])
    for key in reference:
        assert got[key] == pytest.approx(reference[key], rel=1e-9), key
    explicit = _evaluate(AffineInvariantDepthMetric(
        min_depth_eval=1e-3, max_depth_eval=10.0, alignment=alignment,
        clip_range=(1e-3, 10.0)), [(pred, gt)])
    assert explicit == pytest.approx(got, rel=1e-12)
    # the text's reading, without the clip, gives another result
    unclipped = _evaluate(AffineInvariantDepthMetric(
        min_depth_eval=1e-3, max_depth_eval=10.0, alignment=alignment, clip_range=None),
        [(pred, gt)])
    assert unclipped['rmse'] > got['rmse'] + 0.05
    assert unclipped['abs_rel'] > got['abs_rel'] + 0.003


def test_disparity_without_a_positive_prediction_is_the_far_clip():
    gt = _gts(1)[0]
    got = _evaluate(AffineInvariantDepthMetric(max_depth_eval=10.0,
                                               alignment='least_squares_disparity'),
                    [(-np.ones_like(gt), gt)])  # no fit: disparity 1e-3, depth 1000 -> 10
    g = gt.astype(np.float64)
    assert got['rmse'] == pytest.approx(np.sqrt(np.mean((10 - g) ** 2)), rel=1e-9)
    assert got['abs_rel'] == pytest.approx(np.mean((10 - g) / g), rel=1e-9)
    unclipped = _evaluate(AffineInvariantDepthMetric(alignment='least_squares_disparity',
                                                     clip_range=None),
                          [(-np.ones_like(gt), gt)])  # the disparity floor alone: 1000
    assert unclipped['rmse'] == pytest.approx(np.sqrt(np.mean((1000 - g) ** 2)), rel=1e-9)
