"""InstructDiffusion's instruction targets: the palette, keypoint circles, mask overlays.

The round trips render the targets on generated 256 px COCO-keypoint and RefCOCO data,
read them back as if a model had produced them, and score the result with the codebases'
own metrics (mmpose's ``CocoMetric``, mmdet's ``RefSegMetric``): perfect renders must score
100, and noise, misplaced circles and stray colours must cost what they should.
"""
import json
import math
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmgeneralist.codecs import (
    PALETTE,
    KeypointCircleCodec,
    MaskOverlayCodec,
    color_of,
    mask_to_box,
)
from mmgeneralist.codecs.palette import rgb_of

from ..conftest import run_tool

NAMES = list(PALETTE)
GROUPS = 4  # keypoint k goes to image copy k % 4: at most 5 of COCO's 17 per copy


# ----------------------------------------------------------------------------- data


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    out = tmp_path_factory.mktemp('synthetic-instruct')
    run_tool('tools/dataset_converters/generate_synthetic.py', '--out', str(out), '--formats',
             'coco_keypoints', 'refcoco', '--num-train', '2', '--num-val', '8', '--size',
             '256', '--seed', '0')
    return str(out)


def _image(path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert('RGB'))).permute(2, 0, 1)


@pytest.fixture(scope='module')
def coco_keypoints(synthetic_root):
    root = osp.join(synthetic_root, 'coco_keypoints')
    ann_file = osp.join(root, 'annotations/person_keypoints_val2017.json')
    with open(ann_file) as f:
        coco = json.load(f)
    images = {im['id']: _image(osp.join(root, 'val2017', im['file_name']))
              for im in coco['images']}
    return ann_file, images, coco['annotations']


@pytest.fixture(scope='module')
def refcoco_masks(synthetic_root):
    from pycocotools import mask as mask_utils
    root = osp.join(synthetic_root, 'refcoco')
    with open(osp.join(root, 'instances.json')) as f:
        coco = json.load(f)
    files = {im['id']: im['file_name'] for im in coco['images']}
    images = {}
    samples = []  # (image, mask, xyxy box)
    for ann in coco['annotations']:
        iid = ann['image_id']
        if iid not in images:
            images[iid] = _image(osp.join(root, 'train2014', files[iid]))
        mask = torch.from_numpy(mask_utils.decode(ann['segmentation']).astype(bool))
        x, y, w, h = ann['bbox']
        samples.append((images[iid], mask, torch.tensor([x, y, x + w, y + h], dtype=torch.float)))
    assert len(samples) >= 20
    return samples


# ----------------------------------------------------------------------------- palette


def test_palette_names_and_errors():
    for name in ('red', 'green', 'blue', 'yellow', 'cyan', 'magenta', 'orange', 'purple',
                 'pink', 'white', 'black'):
        assert name in PALETTE
    assert color_of('Red') == color_of(' RED ') == PALETTE['red'] == (255, 0, 0)
    with pytest.raises(ValueError) as err:
        color_of('chartreuse')
    assert 'chartreuse' in str(err.value)
    assert all(name in str(err.value) for name in PALETTE)
    assert rgb_of('blue').tolist() == [0.0, 0.0, 255.0]
    assert rgb_of((1, 2, 3)).tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError):
        rgb_of((1, 2))


def test_palette_is_well_separated():
    """The documented margin: every pair at least 127 apart, over 3 sigma of the reader."""
    colors = torch.tensor(list(PALETTE.values()), dtype=torch.float)
    d = torch.cdist(colors, colors) + torch.eye(len(colors)) * 1e9
    assert d.min() >= 127
    assert len({tuple(c) for c in PALETTE.values()}) == len(PALETTE)


def test_codecs_are_registered():
    from mmgeneralist.registry import build_codec
    codec = build_codec(dict(type='KeypointCircleCodec', radius_ratio=0.03))
    assert isinstance(codec, KeypointCircleCodec) and codec.radius(100) == pytest.approx(3)
    assert isinstance(build_codec(dict(type='MaskOverlayCodec')), MaskOverlayCodec)


# ----------------------------------------------------------------------------- circles


def test_radius():
    codec = KeypointCircleCodec()
    assert codec.radius(130) == pytest.approx(2.6)
    assert codec.radius(50) == 2.0  # min_radius
    assert KeypointCircleCodec(radius_ratio=0.05, min_radius=1).radius(40) == pytest.approx(2)
    with pytest.raises(ValueError):
        KeypointCircleCodec(radius_ratio=0)


def test_render_draws_opaque_discs_only():
    codec = KeypointCircleCodec()
    g = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, 40, 50), dtype=torch.uint8, generator=g)
    kps = torch.tensor([[10.0, 12.0], [30.3, 20.6], [60.0, 5.0], [-3.0, 10.0]])
    out = codec.render(image, kps, ['red', 'cyan', 'blue', 'green'], radius=3)
    assert out.dtype == torch.float32 and out.shape == image.shape
    ys, xs = torch.meshgrid(torch.arange(40.), torch.arange(50.), indexing='ij')
    disc0 = (xs - 10).square() + (ys - 12).square() <= 9
    disc1 = (xs - 30.3).square() + (ys - 20.6).square() <= 9
    assert disc0.sum() == 29  # the pixel centres within 3 px of a pixel centre
    assert (out[:, disc0] == torch.tensor([255., 0, 0])[:, None]).all()
    assert (out[:, disc1] == torch.tensor([0., 255, 255])[:, None]).all()
    rest = ~(disc0 | disc1)  # the keypoints outside the image drew nothing
    assert torch.equal(out[:, rest], image.float()[:, rest])
    assert torch.equal(codec.encode(dict(image=image, keypoints=kps, colors=['red', 'cyan',
                                                                            'blue', 'green'],
                                         radius=3)), out)
    with pytest.raises(ValueError):
        codec.render(image, kps, ['red'], radius=3)  # one colour per keypoint


def test_read_recovers_circles_and_reports_absent_colours():
    codec = KeypointCircleCodec()
    g = torch.Generator().manual_seed(1)
    image = torch.rand(3, 64, 80, generator=g) * 255
    # inside, and cut by the border (the centroid is corrected for the lost part)
    kps = torch.tensor([[20.3, 30.7], [0.4, 63.2], [79.4, 0.0], [50.0, 20.0]])
    colors = ['red', 'green', 'yellow', 'purple']
    out = codec.render(image, kps, colors, radius=4)
    found, scores = codec.read(out, image, colors + ['cyan'], radius=4)
    assert found.shape == (5, 2) and scores.shape == (5,)
    assert (found[:4] - kps).norm(dim=1).max() < 0.5
    assert (found[[0, 3]] - kps[[0, 3]]).norm(dim=1).max() < 0.2
    assert scores[[0, 3]].min() > 0.6 and scores[:4].max() <= 1
    # cyan was not drawn: score 0 at the image centre, not NaN
    assert scores[4] == 0 and found[4].tolist() == [39.5, 31.5]
    decoded = codec.decode(dict(output=out, source=image, colors=colors, radius=4))
    assert torch.equal(decoded[0], found[:4]) and torch.equal(decoded[1], scores[:4])
    # the source's own red does not count: only the change does
    red_source = image.clone()
    red_source[:, 50:60, 60:75] = torch.tensor([255., 0, 0])[:, None, None]
    out = codec.render(red_source, kps[:1], ['red'], radius=4)
    found, scores = codec.read(out, red_source, ['red'], radius=4)
    assert (found[0] - kps[0]).norm() < 0.2


def _rng_shift(n, distance, seed):
    g = torch.Generator().manual_seed(seed)
    angle = torch.rand(n, generator=g) * 2 * math.pi
    return torch.stack([angle.cos(), angle.sin()], 1) * distance


def _read_keypoints(codec, image, ann, degrade=None, shift=0.0, distractor=False, seed=0):
    """Render each group of <= 5 visible keypoints of a person on a copy of its image and read
    them back: ``(17, 2)`` keypoints, ``(17,)`` scores (0 for unlabelled keypoints)."""
    kps = torch.tensor(ann['keypoints'], dtype=torch.float64).view(-1, 3)
    x, y, w, h = ann['bbox']
    r = codec.radius(max(w, h))
    found = torch.zeros(len(kps), 2, dtype=torch.float64)
    found[:] = torch.tensor([x + w / 2, y + h / 2])
    scores = torch.zeros(len(kps), dtype=torch.float64)
    for group in range(GROUPS):
        idx = [k for k in range(group, len(kps), GROUPS) if kps[k, 2] > 0]
        if not idx:
            continue
        colors = [NAMES[k % len(NAMES)] for k in idx]
        where = kps[idx, :2]
        if shift:
            where = where + _rng_shift(len(idx), shift * r, seed + ann['id'] + group)
        out = codec.render(image, where, colors, radius=r)
        if distractor:
            out = _paint_distractor(out, kps[idx, :2], colors, r, seed + ann['id'] + group)
        if degrade is not None:
            out = degrade(out, seed + ann['id'] + group)
        got, score = codec.read(out, image, colors, radius=r)
        found[idx], scores[idx] = got.double(), score.double()
    return found, scores


def _paint_distractor(out, keypoints, colors, r, seed):
    """A disc of 2 radii in the un-instructed colour nearest to an instructed one (the
    hardest to tell apart), at least 4 radii from every instructed keypoint."""
    rgb = torch.tensor([PALETTE[c] for c in colors], dtype=torch.float)
    others = [n for n in NAMES if n not in colors]
    dist = torch.cdist(torch.tensor([PALETTE[n] for n in others], dtype=torch.float), rgb)
    name = others[int(dist.min(1).values.argmin())]
    g = torch.Generator().manual_seed(seed)
    h, w = out.shape[-2:]
    for _ in range(1000):
        centre = torch.rand(2, generator=g).double() * torch.tensor([w - 1.0, h - 1.0])
        if (keypoints - centre).norm(dim=1).min() > 4 * r:
            break
    else:
        raise AssertionError('no room for a distractor')
    return KeypointCircleCodec().render(out, centre[None], [name], radius=2 * r)


def _coco_ap(ann_file, annotations, predictions) -> dict:
    """mmpose's CocoMetric (top-down, GT boxes) over ``{ann_id: (keypoints, scores)}``, in
    percent (the metric reports fractions)."""
    import mmpose
    from mmengine.registry import DefaultScope
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.evaluation import CocoMetric
    meta_file = osp.join(osp.dirname(mmpose.__file__), '.mim/configs/_base_/datasets/coco.py')
    with DefaultScope.overwrite_default_scope('mmpose'):
        metric = CocoMetric(ann_file=ann_file)
        metric.dataset_meta = parse_pose_metainfo(dict(from_file=meta_file))
        samples = []
        for ann in annotations:
            keypoints, scores = predictions[ann['id']]
            x, y, w, h = ann['bbox']
            samples.append(dict(
                id=ann['id'], img_id=ann['image_id'], category_id=ann['category_id'],
                pred_instances=dict(keypoints=keypoints.numpy()[None].astype(np.float32),
                                    keypoint_scores=scores.numpy()[None].astype(np.float32),
                                    bbox_scores=np.ones(1, dtype=np.float32)),
                gt_instances=dict(bbox_scales=np.array([[w, h]], dtype=np.float32))))
        metric.process([], samples)
        metrics = metric.evaluate(len(samples))
    return {k: round(float(v) * 100, 2) for k, v in metrics.items() if v >= 0}


def _keypoint_round_trip(coco_keypoints, **kwargs):
    ann_file, images, annotations = coco_keypoints
    codec = KeypointCircleCodec()
    predictions = {ann['id']: _read_keypoints(codec, images[ann['image_id']], ann, **kwargs)
                   for ann in annotations}
    return _coco_ap(ann_file, annotations, predictions), predictions


def _noise(sigma):
    def degrade(out, seed):
        g = torch.Generator().manual_seed(seed)
        return (out + sigma * torch.randn(out.shape, generator=g)).clamp(0, 255)
    return degrade


@pytest.fixture(scope='module')
def perfect_keypoints(coco_keypoints):
    return _keypoint_round_trip(coco_keypoints)


def test_keypoint_round_trip_is_perfect(coco_keypoints, perfect_keypoints):
    metrics, predictions = perfect_keypoints
    print('keypoints, perfect renders:', metrics)
    assert metrics['coco/AP'] >= 99.9, metrics
    # every labelled keypoint found, to sub-pixel accuracy, with confidence
    _, _, annotations = coco_keypoints
    for ann in annotations:
        kps = torch.tensor(ann['keypoints'], dtype=torch.float64).view(-1, 3)
        found, scores = predictions[ann['id']]
        labelled = kps[:, 2] > 0
        assert (found[labelled] - kps[labelled, :2]).norm(dim=1).max() < 0.6
        assert scores[labelled].min() > 0.3 and (scores[~labelled] == 0).all()


def test_keypoints_under_noise(coco_keypoints, perfect_keypoints):
    metrics, _ = _keypoint_round_trip(coco_keypoints, degrade=_noise(10))
    print('keypoints, Gaussian noise sigma 10:', metrics)
    assert metrics['coco/AP'] >= 90, metrics
    heavy, _ = _keypoint_round_trip(coco_keypoints, degrade=_noise(40))
    print('keypoints, Gaussian noise sigma 40:', heavy)
    assert 85 <= heavy['coco/AP'] <= metrics['coco/AP'], heavy


def test_keypoints_misplaced_by_two_radii(coco_keypoints, perfect_keypoints):
    metrics, predictions = _keypoint_round_trip(coco_keypoints, shift=2.0)
    print('keypoints, circles shifted by 2 radii:', metrics)
    assert 0 < metrics['coco/AP'] < perfect_keypoints[0]['coco/AP'] - 10, metrics


def test_keypoints_ignore_a_stray_colour(coco_keypoints, perfect_keypoints):
    metrics, predictions = _keypoint_round_trip(coco_keypoints, distractor=True)
    print('keypoints, with an un-instructed colour elsewhere:', metrics)
    for ann_id, (found, scores) in predictions.items():
        clean_found, clean_scores = perfect_keypoints[1][ann_id]
        assert torch.allclose(found, clean_found, atol=1e-4), ann_id
        assert torch.allclose(scores, clean_scores, atol=1e-4), ann_id
    assert metrics['coco/AP'] == perfect_keypoints[0]['coco/AP']


def test_read_without_the_stray_colour_check_would_fail():
    """The distractor test can fail: instructed in the stray colour, it is found."""
    codec = KeypointCircleCodec()
    image = torch.full((3, 64, 64), 100.0)
    out = codec.render(image, [[40.0, 40.0]], ['orange'], radius=5)
    found, scores = codec.read(out, image, ['red', 'orange'], radius=5)
    assert scores[0] == 0 and scores[1] > 0.9 and (found[1] - 40).abs().max() < 1e-4
    # a radius that is about right is enough (here 3 for 5: the peak is on a plateau)
    found, scores = codec.read(out, image, ['orange'], radius=3)
    assert scores[0] > 0.9 and (found[0] - 40).abs().max() < 1e-4


# ----------------------------------------------------------------------------- masks


def test_mask_render_and_read_exact():
    codec = MaskOverlayCodec()
    g = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, 32, 48), dtype=torch.uint8, generator=g)
    mask = torch.zeros(32, 48, dtype=torch.bool)
    mask[5:20, 10:30] = True
    out = codec.render(image, mask, 'blue')
    expected = 0.5 * image.float() + 0.5 * torch.tensor([0., 0, 255])[:, None, None]
    assert torch.equal(out[:, mask], expected[:, mask])
    assert torch.equal(out[:, ~mask], image.float()[:, ~mask])
    assert torch.equal(codec.read(out, image, 'blue'), mask)
    assert torch.equal(codec.decode(dict(output=out, source=image, color='blue')), mask)
    soft = codec.read_scores(out, image, 'blue')
    assert soft.shape == mask.shape and soft.min() >= 0 and soft.max() <= 1
    assert torch.allclose(soft[mask], torch.ones(())) and (soft[~mask] == 0).all()
    assert codec.scores(dict(output=out, source=image, color='blue')).shape == (1, 32, 48)
    assert mask_to_box(mask).tolist() == [10.0, 5.0, 30.0, 20.0]
    assert mask_to_box(torch.zeros(4, 4, dtype=torch.bool)) is None
    assert codec.box(out, image, 'blue').tolist() == [10.0, 5.0, 30.0, 20.0]


def test_mask_read_fills_pixels_already_of_the_colour():
    """Where the source already is the colour, the overlay changes nothing: such pixels
    take the side of the decided pixels around them."""
    codec = MaskOverlayCodec()
    image = torch.full((3, 40, 40), 90.0)
    image[:, 10:20, 10:20] = torch.tensor([255., 0, 0])[:, None, None]  # red, in the mask
    image[:, 30:36, 2:8] = torch.tensor([255., 0, 0])[:, None, None]  # red, outside
    mask = torch.zeros(40, 40, dtype=torch.bool)
    mask[5:25, 5:25] = True
    out = codec.render(image, mask, 'red')
    soft = codec.read_scores(out, image, 'red')
    assert (soft[10:20, 10:20] == 0.5).all()  # no evidence there
    assert torch.equal(codec.read(out, image, 'red'), mask)
    # nothing decided at all: nothing in the mask
    flat = torch.full((3, 8, 8), 255.0)
    flat[1:] = 0
    assert not codec.read(flat, flat, 'red').any()


def _refseg(pairs) -> dict:
    """mmdet's RefSegMetric over ``(pred, gt)`` bool masks."""
    from mmdet.evaluation import RefSegMetric
    from mmdet.structures.mask import BitmapMasks
    metric = RefSegMetric()
    h, w = pairs[0][1].shape
    metric.process({}, [dict(pred_instances=dict(masks=pred[None]),
                             gt_masks=BitmapMasks(gt[None].numpy(), h, w))
                        for pred, gt in pairs])
    return metric.evaluate(len(pairs))


def _mask_round_trip(samples, degrade=None, **kwargs):
    codec = MaskOverlayCodec(**kwargs)
    pairs = []
    for i, (image, mask, _) in enumerate(samples):
        color = NAMES[i % len(NAMES)]
        out = codec.render(image, mask, color)
        if degrade is not None:
            out = degrade(out, i)
        pairs.append((codec.read(out, image, color), mask))
    return _refseg(pairs), pairs


def test_mask_round_trip_is_exact(refcoco_masks):
    metrics, pairs = _mask_round_trip(refcoco_masks)
    print('masks, perfect renders:', metrics)
    for (pred, gt), (_, _, box) in zip(pairs, refcoco_masks):
        assert torch.equal(pred, gt)  # IoU exactly 1
        assert torch.equal(mask_to_box(pred), box)
    assert metrics['cIoU'] == 100 and metrics['mIoU'] == 100


def test_masks_under_noise(refcoco_masks):
    metrics, pairs = _mask_round_trip(refcoco_masks, degrade=_noise(10))
    print('masks, Gaussian noise sigma 10:', metrics)
    assert 90 <= metrics['cIoU'] < 100, metrics
    assert mask_to_box(pairs[0][0]) is not None
    heavy, _ = _mask_round_trip(refcoco_masks, degrade=_noise(40))
    print('masks, Gaussian noise sigma 40:', heavy)
    assert heavy['cIoU'] < metrics['cIoU'], heavy
    # reading over a window (least squares) recovers most of it
    smoothed, _ = _mask_round_trip(refcoco_masks, degrade=_noise(40), smooth=5)
    print('masks, Gaussian noise sigma 40, smooth=5:', smoothed)
    assert smoothed['cIoU'] >= max(90, heavy['cIoU'] + 50), smoothed
    perfect, _ = _mask_round_trip(refcoco_masks, smooth=5)
    print('masks, perfect renders, smooth=5:', perfect)
    assert 95 <= perfect['cIoU'] < 100, perfect  # corners rounded
