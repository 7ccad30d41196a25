"""The synthetic world: every format loads through the upstream classes, and it is learnable."""
import importlib.util
import json
import os
import os.path as osp
import pickle
import subprocess
import sys
from collections import defaultdict

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmgeneralist.datasets import (
    ADE20K_LABELS,
    DEPTH_RANGE,
    FORMAT_CONFIGS,
    FORMATS,
    SYNTHETIC_ADE_CLASSES,
    SYNTHETIC_PANOPTIC_METAINFO,
    THING_CLASSES,
    generate_scene,
    generate_synthetic,
    resolve_expression,
)
from mmgeneralist.datasets.synthetic import world as syn

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'dataset_converters', 'generate_synthetic.py')
NUM_TRAIN, NUM_VAL, SIZE = 12, 6, 64
K = len(SYNTHETIC_ADE_CLASSES)


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    """All formats: 12 train and 6 val images of 64 px (plus 3 + 3 RefCOCO test images)."""
    out = str(tmp_path_factory.mktemp('synthetic'))
    dirs = generate_synthetic(out, FORMATS, NUM_TRAIN, NUM_VAL, SIZE, seed=0)
    assert sorted(dirs) == sorted(FORMATS)
    return out


def _image_id(path):
    return int(osp.splitext(osp.basename(path))[0].split('_')[-1])


def _rgb2id(png_path):
    rgb = cv2.imread(png_path, cv2.IMREAD_COLOR)[..., ::-1].astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]


# ---------------------------------------------------------------------------------- mmseg
def _ade_dataset(root, split='validation', subset=True):
    from mmseg.datasets import ADE20KDataset
    init_default_scope('mmseg')
    return ADE20KDataset(
        data_root=osp.join(root, 'ade'),
        data_prefix=dict(img_path=f'images/{split}', seg_map_path=f'annotations/{split}'),
        metainfo=dict(classes=SYNTHETIC_ADE_CLASSES) if subset else None,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', reduce_zero_label=True),  # as mmseg's config
                  dict(type='PackSegInputs')])


def test_ade_class_ids_are_real_ade20k():
    from mmseg.datasets import ADE20KDataset
    classes = ADE20KDataset.METAINFO['classes']
    for name, label in ADE20K_LABELS.items():
        assert classes[label - 1] == name
    assert list(SYNTHETIC_ADE_CLASSES) == sorted(SYNTHETIC_ADE_CLASSES, key=classes.index)


def test_ade_subset_metainfo_remaps_labels(root):
    ds = _ade_dataset(root)
    assert len(ds) == NUM_VAL and ds.metainfo['classes'] == SYNTHETIC_ADE_CLASSES
    seen = set()
    for i in range(len(ds)):
        item = ds[i]
        assert tuple(item['inputs'].shape) == (3, SIZE, SIZE)
        gt = item['data_samples'].gt_sem_seg.data.numpy()[0]
        raw = cv2.imread(item['data_samples'].seg_map_path, cv2.IMREAD_UNCHANGED)
        expected = np.full(256, 255, np.int64)
        for k, name in enumerate(SYNTHETIC_ADE_CLASSES):
            expected[ADE20K_LABELS[name]] = k
        np.testing.assert_array_equal(gt, expected[raw])
        seen |= set(np.unique(gt).tolist())
    assert seen <= set(range(K)) | {255}
    assert 255 in seen and len(seen - {255}) >= K - 1  # "other" pixels and nearly all classes


def test_ade_full_150_classes(root):
    ds = _ade_dataset(root, 'training', subset=False)
    assert len(ds) == NUM_TRAIN and len(ds.metainfo['classes']) == 150
    allowed = {v - 1 for v in ADE20K_LABELS.values()} | {255}
    for i in range(3):
        values = set(np.unique(ds[i]['data_samples'].gt_sem_seg.data.numpy()).tolist())
        assert values <= allowed and len(values) > 3


def test_nyu_depth_in_metres(root):
    from mmseg.datasets import NYUDataset
    init_default_scope('mmseg')
    ds = NYUDataset(
        data_root=osp.join(root, 'nyu'),
        data_prefix=dict(img_path='images/test', depth_map_path='annotations/test'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
                  dict(type='PackSegInputs', meta_keys=('img_path', 'depth_map_path',
                                                        'ori_shape', 'category_id'))])
    assert len(ds) == NUM_VAL
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        depth = sample.gt_depth_map.data.numpy()[0]
        assert depth.dtype == np.float32 and depth.shape == (SIZE, SIZE)
        assert DEPTH_RANGE[0] <= depth.min() < 3.6 and 6.9 < depth.max() <= DEPTH_RANGE[1]
        assert sample.category_id == NYUDataset.METAINFO['classes'].index('playroom')


# ----------------------------------------------------------------------------------- mmdet
def _panoptic_dataset(root, pipeline=()):
    from mmdet.datasets import CocoPanopticDataset
    init_default_scope('mmdet')
    return CocoPanopticDataset(
        data_root=osp.join(root, 'coco_panoptic'),
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        metainfo=SYNTHETIC_PANOPTIC_METAINFO, test_mode=True, pipeline=list(pipeline))


def test_panoptic_annotations_match_pngs(root):
    ds = _panoptic_dataset(root)
    assert len(ds) == NUM_VAL
    n_things = len(THING_CLASSES)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        ids = _rgb2id(info['seg_map_path'])
        segs = {s['id']: s for s in info['segments_info']}
        assert set(np.unique(ids).tolist()) - {0} == set(segs)
        assert {s['is_thing'] for s in segs.values()} == {True, False}
        for s in segs.values():
            assert s['is_thing'] == (s['category'] < n_things)
        assert len(info['instances']) == sum(s['is_thing'] for s in segs.values())
        assert all(0 <= inst['bbox_label'] < n_things for inst in info['instances'])
        # VOID (id 0) is exactly ADE20K's "other" (label 0) of the same image
        ade = cv2.imread(osp.join(root, 'ade', 'annotations', 'validation',
                                  f'ADE_val_{info["img_id"]:08d}.png'), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(ids == 0, ade == 0)
    raw = json.load(open(osp.join(root, 'coco_panoptic/annotations/panoptic_val2017.json')))
    for ann in raw['annotations']:
        ids = _rgb2id(osp.join(root, 'coco_panoptic/annotations/panoptic_val2017',
                               ann['file_name']))
        for s in ann['segments_info']:
            ys, xs = np.nonzero(ids == s['id'])
            assert s['area'] == len(xs)
            assert s['bbox'] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                 ys.max() - ys.min() + 1]


def test_panoptic_standard_pipeline_and_metric(root):
    pytest.importorskip('panopticapi', reason='mmdet needs panopticapi for panoptic loading')
    from mmdet.evaluation import CocoPanopticMetric
    ds = _panoptic_dataset(root, [
        dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations'),
        dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                              'scale_factor'))])
    sample = ds[0]['data_samples']
    seg = sample.gt_sem_seg.sem_seg.numpy()[0]
    assert set(np.unique(seg).tolist()) <= set(range(K)) | {255}
    assert len(sample.gt_instances.masks) == len(sample.gt_instances.labels) > 0
    # the metric builds on the val json; ground truth as prediction scores PQ 100
    import torch
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    pan_root = osp.join(root, 'coco_panoptic', 'annotations')
    metric = CocoPanopticMetric(ann_file=osp.join(pan_root, 'panoptic_val2017.json'),
                                seg_prefix=osp.join(pan_root, 'panoptic_val2017'))
    metric.dataset_meta = ds.metainfo
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        ids = _rgb2id(info['seg_map_path'])
        pan = np.full(ids.shape, len(SYNTHETIC_PANOPTIC_METAINFO['classes']), np.int64)
        for k, s in enumerate(info['segments_info']):
            pan[ids == s['id']] = s['category'] + (k + 1) * INSTANCE_OFFSET * s['is_thing']
        metric.process({}, [dict(
            img_id=info['img_id'], img_path=info['img_path'], ori_shape=ids.shape,
            seg_map_path=info['seg_map_path'], segments_info=info['segments_info'],
            pred_panoptic_seg=dict(sem_seg=torch.from_numpy(pan)[None]))])
    assert metric.evaluate(len(ds))['coco_panoptic/PQ'] == pytest.approx(100.0)


def _refcoco_dataset(root, split):
    from mmdet.datasets import RefCocoDataset
    init_default_scope('mmdet')
    return RefCocoDataset(
        data_root=osp.join(root, 'refcoco'), ann_file='instances.json',
        split_file='refs(unc).p', data_prefix=dict(img_path='train2014/'), split=split,
        text_mode='select_first',
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_mask=True, with_bbox=False,
                       with_seg=False, with_label=False),
                  dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                                        'img_shape', 'scale_factor', 'text'))])


@pytest.mark.parametrize('split', ['train', 'val', 'testA', 'testB'])
def test_refcoco_loads(root, split):
    ds = _refcoco_dataset(root, split)
    assert len(ds) > 0
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        masks = sample.gt_instances.masks.masks
        assert len(sample.text) == len(masks) > 0
        assert all(isinstance(t, str) and t.startswith('the ') for t in sample.text)
        assert all(m.sum() > 0 for m in masks)
        if split == 'testA':
            assert all(t.endswith('person') or 'person ' in t for t in sample.text)


def test_referring_expressions_are_unique(root):
    data = json.load(open(osp.join(root, 'refcoco', 'instances.json')))
    refs = pickle.load(open(osp.join(root, 'refcoco', 'refs(unc).p'), 'rb'))
    names = {c['id']: c['name'] for c in data['categories']}
    images = {im['id']: im for im in data['images']}
    objects = defaultdict(list)
    for a in data['annotations']:
        objects[a['image_id']].append(dict(
            id=a['id'], category=names[a['category_id']], colour=a['attributes']['colour'],
            bbox=a['bbox'], area=a['area'], depth=a['attributes']['depth']))
    n_train = sum(r['split'] == 'train' for r in refs)
    assert n_train >= NUM_TRAIN  # at least one referred object per training image on average
    kinds = set()
    for ref in refs:
        im = images[ref['image_id']]
        assert objects[ref['image_id']]
        for s in ref['sentences']:
            assert resolve_expression(s['raw'], objects[ref['image_id']], im['width'],
                                      im['height']) == [ref['ann_id']], s['raw']
            kinds.add(len(s['tokens']))
    assert len(kinds) >= 3  # plain, coloured and relational / superlative expressions
    # the check can fail: two identical balls make "the ball" ambiguous
    ball = dict(id=1, category='ball', colour='blue', bbox=[0, 0, 8, 8], area=50, depth=2.0)
    twin = dict(ball, id=2, bbox=[30, 0, 8, 8])
    assert resolve_expression('the ball', [ball, twin], 64, 64) == [1, 2]
    assert resolve_expression('the ball on the left', [ball, twin], 64, 64) == [1]
    assert resolve_expression('the nearest ball', [ball, twin], 64, 64) == [1, 2]


# ----------------------------------------------------------------------------------- mmpose
def test_coco_keypoints_topdown_pipeline_and_metric(root, tmp_path):
    from mmpose.datasets import CocoDataset
    from mmpose.evaluation import CocoMetric
    init_default_scope('mmpose')
    codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=2)
    kp_root = osp.join(root, 'coco_keypoints')
    ds = CocoDataset(
        data_root=kp_root, data_mode='topdown',
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=[dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
                  dict(type='TopdownAffine', input_size=codec['input_size']),
                  dict(type='GenerateTarget', encoder=codec), dict(type='PackPoseInputs')])
    assert len(ds) >= NUM_TRAIN // 2 and ds.metainfo['num_keypoints'] == 17
    raw_vis = []
    for i in range(len(ds)):
        raw_vis.append(ds.get_data_info(i)['raw_ann_info']['keypoints'][2::3])
        item = ds[i]
        assert tuple(item['inputs'].shape) == (3, 64, 64)
        sample = item['data_samples']
        assert sample.gt_instances.keypoints.shape == (1, 17, 2)
        assert sample.gt_fields.heatmaps.shape == (17, 16, 16)
        assert float(sample.gt_fields.heatmaps.max()) > 0.5
    raw_vis = np.array(raw_vis)
    assert {0, 1, 2} <= set(np.unique(raw_vis).tolist())  # outside, occluded and visible
    assert (raw_vis == 2).mean() > 0.5

    # the metric builds on the val json, and ground truth as prediction scores AP 1
    val = CocoDataset(data_root=kp_root, data_mode='topdown', test_mode=True,
                      ann_file='annotations/person_keypoints_val2017.json',
                      data_prefix=dict(img='val2017/'))
    metric = CocoMetric(ann_file=osp.join(kp_root, 'annotations/person_keypoints_val2017.json'),
                        outfile_prefix=str(tmp_path / 'kp'))
    metric.dataset_meta = val.metainfo
    for i in range(len(val)):
        info = val.get_data_info(i)
        metric.process([], [dict(
            id=info['id'], img_id=info['img_id'], category_id=1, gt_instances=dict(),
            pred_instances=dict(keypoints=info['keypoints'],
                                keypoint_scores=np.ones((1, 17), np.float32)))])
    assert metric.evaluate(len(val))['coco/AP'] == pytest.approx(1.0)


# ----------------------------------------------------------------- the printed configs
@pytest.mark.parametrize('fmt, scope', [('ade', 'mmseg'), ('nyu', 'mmseg'),
                                        ('coco_panoptic', 'mmdet'),
                                        ('coco_keypoints', 'mmpose'), ('refcoco', 'mmdet')])
def test_printed_config_snippets_build(root, fmt, scope):
    import importlib
    registry = importlib.import_module(f'{scope}.registry').DATASETS
    init_default_scope(scope)
    snippet = FORMAT_CONFIGS[fmt].format(root=osp.join(root, fmt)).split('  #')[0]
    cfg = eval(snippet, dict(dict=dict, SYNTHETIC_ADE_CLASSES=SYNTHETIC_ADE_CLASSES,
                             SYNTHETIC_PANOPTIC_METAINFO=SYNTHETIC_PANOPTIC_METAINFO))
    ds = registry.build(cfg)
    if fmt in ('ade', 'nyu', 'coco_panoptic'):
        assert len(ds) == NUM_TRAIN
    else:
        assert len(ds) > 0


# ---------------------------------------------------------------------------- restoration
def test_restoration_pairs(root):
    for task in ('denoise', 'deblur', 'lowlight'):
        for split, n in (('train', NUM_TRAIN), ('val', NUM_VAL)):
            d = osp.join(root, 'restoration', task, split)
            names = sorted(os.listdir(osp.join(d, 'input')))
            assert names == sorted(os.listdir(osp.join(d, 'target'))) and len(names) == n
            for name in names[:3]:
                x = cv2.imread(osp.join(d, 'input', name)).astype(np.float64)
                y = cv2.imread(osp.join(d, 'target', name)).astype(np.float64)
                assert x.shape == y.shape == (SIZE, SIZE, 3)
                psnr = 10 * np.log10(255 ** 2 / np.mean((x - y) ** 2))
                assert 4 < psnr < 40, (task, psnr)
                if task == 'lowlight':
                    assert x.mean() < 0.6 * y.mean()
                if task == 'deblur':
                    assert np.abs(np.diff(x, axis=1)).mean() < np.abs(np.diff(y, axis=1)).mean()
                if task == 'denoise':
                    assert np.abs(np.diff(x, axis=1)).mean() > np.abs(np.diff(y, axis=1)).mean()


# ------------------------------------------------------------------------------ the world
def _pixels(ds):
    xs, ys = [], []
    for i in range(len(ds)):
        item = ds[i]
        xs.append(item['inputs'].numpy().reshape(3, -1).T.astype(np.float64))
        ys.append(item['data_samples'].gt_sem_seg.data.numpy().reshape(-1))
    x, y = np.concatenate(xs), np.concatenate(ys)
    keep = y != 255
    return x[keep], y[keep]


def _scores(pred, gt):
    """Mean per-class accuracy and mIoU over the classes present in ``gt``."""
    accs, ious = [], []
    for c in np.unique(gt):
        accs.append(np.mean(pred[gt == c] == c))
        ious.append(np.sum((pred == c) & (gt == c)) / np.sum((pred == c) | (gt == c)))
    return np.mean(accs), np.mean(ious)


def test_colour_alone_beats_majority_but_is_not_perfect(root):
    x_train, y_train = _pixels(_ade_dataset(root, 'training'))
    x_val, y_val = _pixels(_ade_dataset(root, 'validation'))
    means = np.stack([x_train[y_train == c].mean(0) for c in range(K)])
    pred = np.argmin(((x_val[:, None] - means[None]) ** 2).sum(-1), 1)
    majority = np.full_like(y_val, np.bincount(y_train).argmax())
    acc, miou = _scores(pred, y_val)
    base_acc, base_miou = _scores(majority, y_val)
    assert acc > base_acc + 0.3 and miou > base_miou + 0.15, (acc, base_acc, miou, base_miou)
    assert acc < 0.97  # colour is informative, not decisive: shape matters too


def test_depth_ordering_and_scale():
    overlaps = 0
    for i in range(10):
        scene = generate_scene(0, 'train', i, SIZE)
        focal = 0.9 * SIZE
        for inst in scene.instances:
            assert np.all(scene.depth[inst.mask] == np.float32(inst.depth))
            # size is proportional to 1 / depth (physical sizes vary by +-10%)
            physical = inst.size_px * inst.depth / focal
            assert 0.9 * syn._PHYSICAL_SIZE[inst.category] <= physical
            assert physical <= 1.1 * syn._PHYSICAL_SIZE[inst.category]
        # z-buffer: every pixel shows the nearest object whose (amodal) shape covers it
        depths = np.stack([np.where(t.amodal_mask, t.depth, np.inf) for t in scene.instances])
        covered = np.isfinite(depths).any(0)
        nearest = np.array([t.id for t in scene.instances])[depths.argmin(0)]
        np.testing.assert_array_equal(scene.instance_map[covered], nearest[covered])
        overlaps += int(((np.isfinite(depths).sum(0)) >= 2).sum())
        background = scene.instance_map == 0
        assert scene.depth[background].min() > max(t.depth for t in scene.instances)
    assert overlaps > 100  # objects do occlude each other


def test_formats_agree_on_depth_and_masks(root):
    from pycocotools import mask as mask_utils
    data = json.load(open(osp.join(root, 'refcoco', 'instances.json')))
    kps = json.load(open(osp.join(root, 'coco_keypoints/annotations/'
                                        'person_keypoints_val2017.json')))
    kp_boxes = {a['id']: a['bbox'] for a in kps['annotations']}
    checked = 0
    for a in data['annotations']:
        if not 100000 < a['image_id'] <= 100000 + NUM_VAL:
            continue
        depth = cv2.imread(osp.join(root, 'nyu/annotations/test',
                                    f'playroom_{a["image_id"]:08d}.png'), cv2.IMREAD_UNCHANGED)
        mask = mask_utils.decode(a['segmentation']).astype(bool)
        assert mask.sum() == a['area']
        assert np.all(depth[mask] == round(a['attributes']['depth'] * 1000))
        if a['category_id'] == 1:  # a person: same box in the keypoint json
            assert kp_boxes[a['id']] == a['bbox']
        checked += 1
    assert checked > NUM_VAL


# ---------------------------------------------------------------------- determinism, CLI
def _label_files(out):
    files = []
    for dirpath, _, names in os.walk(out):
        files += [osp.relpath(osp.join(dirpath, n), out) for n in names
                  if n.endswith(('.png', '.json', '.p'))]
    return sorted(files)


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    args = (['ade', 'nyu', 'coco_panoptic', 'coco_keypoints', 'refcoco'], 3, 2, 48)
    a, b, c = (str(tmp_path / n) for n in 'abc')
    generate_synthetic(a, *args, seed=5)
    generate_synthetic(b, *args, seed=5)
    generate_synthetic(c, *args, seed=6)
    files = _label_files(a)
    assert len(files) > 20 and files == _label_files(b) == _label_files(c)
    for f in files:
        with open(osp.join(a, f), 'rb') as fa, open(osp.join(b, f), 'rb') as fb:
            assert fa.read() == fb.read(), f
    for f in ('ade/annotations/training/ADE_train_00000001.png',
              'nyu/annotations/train/playroom_00000001.png'):
        la, lc = (cv2.imread(osp.join(r, f), cv2.IMREAD_UNCHANGED) for r in (a, c))
        assert la.shape == lc.shape and not np.array_equal(la, lc)
    # train and val scenes differ; a rerun into the same directory replaces the data
    assert not np.array_equal(generate_scene(5, 'train', 0, 48).image,
                              generate_scene(5, 'val', 0, 48).image)
    generate_synthetic(a, ['ade'], 1, 1, 48, seed=5)
    assert len(os.listdir(osp.join(a, 'ade/images/training'))) == 1


def test_refuses_foreign_directory_and_bad_arguments(tmp_path):
    os.makedirs(tmp_path / 'ade')
    (tmp_path / 'ade' / 'mine.txt').write_text('not generated')
    with pytest.raises(FileExistsError, match='not written by this generator'):
        generate_synthetic(str(tmp_path), ['ade'], 1, 1, 48)
    assert (tmp_path / 'ade' / 'mine.txt').exists()
    with pytest.raises(ValueError, match='size must be between 32'):
        generate_synthetic(str(tmp_path / 'x'), ['ade'], 1, 1, 16)
    with pytest.raises(ValueError, match='unknown format'):
        generate_synthetic(str(tmp_path / 'x'), ['ade', 'kitti'], 1, 1, 64)


def _load_tool():
    spec = importlib.util.spec_from_file_location('generate_synthetic_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('argv, message', [
    (['--size', '16'], 'size must be between 32'),
    (['--formats', 'ade', 'kitti'], "invalid choice: 'kitti'"),
    (['--num-train', '0'], 'num_train must be between 1'),
    (['--seed', '-1'], 'seed must be non-negative'),
])
def test_cli_rejects_bad_arguments(argv, message, tmp_path, capsys):
    tool = _load_tool()
    with pytest.raises(SystemExit) as exc:
        tool.main(['--out', str(tmp_path), *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not os.listdir(tmp_path)


def test_cli_runs_and_prints_config(tmp_path):
    proc = subprocess.run(
        [sys.executable, TOOL, '--out', str(tmp_path), '--formats', 'ade', 'refcoco',
         '--num-train', '2', '--num-val', '2', '--size', '48'],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert FORMAT_CONFIGS['ade'].format(root=osp.join(str(tmp_path), 'ade')) in proc.stdout
    assert 'synthetic scenes' in proc.stderr  # tqdm progress bar
    assert len(os.listdir(tmp_path / 'ade' / 'images' / 'training')) == 2
    assert osp.exists(tmp_path / 'refcoco' / 'refs(unc).p')
