"""CheckPanopticSegments in mmdet's CocoPanopticDataset pipeline, on generated COCO panoptic data
whose PNG or JSON is then corrupted."""
import copy
import json
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from mmengine.registry import DATASETS, TRANSFORMS, DefaultScope

import mmgeneralist  # noqa: F401  (registers the modules)
from mmgeneralist.datasets import SYNTHETIC_PANOPTIC_METAINFO, CheckPanopticSegments
from tests.conftest import run_tool

ANN = 'annotations/panoptic_train2017.json'
SEG_DIR = 'annotations/panoptic_train2017'
PNG_NAME = '000000000001.png'  # the sample that the tests corrupt
CHECKED = [
    dict(type='LoadImageFromFile'),
    dict(type='CheckPanopticSegments'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='PackDetInputs'),
]
UNCHECKED = [t for t in CHECKED if t['type'] != 'CheckPanopticSegments']


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    """Generated COCO panoptic data (4 train, 2 val images of 32 px); never modified."""
    out = tmp_path_factory.mktemp('panoptic-checks')
    run_tool('tools/dataset_converters/generate_synthetic.py', '--out', str(out), '--formats',
             'coco_panoptic', '--num-train', '4', '--num-val', '2', '--size', '32', '--seed',
             '0')
    return str(out / 'coco_panoptic')


@pytest.fixture
def root(generated, tmp_path):
    """A copy of the generated data that a test may corrupt."""
    return shutil.copytree(generated, str(tmp_path / 'coco_panoptic'))


def build(data_root, pipeline=CHECKED):
    """mmdet's CocoPanopticDataset as a config under mmdet's scope builds it."""
    cfg = dict(type='CocoPanopticDataset', _scope_='mmdet', data_root=data_root,
               ann_file=ANN, data_prefix=dict(img='train2017/', seg=SEG_DIR + '/'),
               metainfo=SYNTHETIC_PANOPTIC_METAINFO, pipeline=pipeline)
    return DATASETS.build(cfg)


def index_of(dataset, name=PNG_NAME):
    for i in range(len(dataset)):
        if osp.basename(dataset.get_data_info(i)['seg_map_path']) == name:
            return i
    raise AssertionError(f'{name} is not in the dataset')


def png_ids(path):
    """Segment id -> pixel count of a panoptic PNG (read with OpenCV, independent of mmcv)."""
    bgr = cv2.imread(path, cv2.IMREAD_COLOR).astype(np.int64)
    ids = bgr[..., 2] + 256 * bgr[..., 1] + 256 ** 2 * bgr[..., 0]
    values, counts = np.unique(ids, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts) if v != 0}


def edit_json(root, edit):
    """Apply ``edit(segments_info)`` to PNG_NAME's annotation in the training JSON."""
    path = osp.join(root, ANN)
    with open(path) as f:
        data = json.load(f)
    ann, = [a for a in data['annotations'] if a['file_name'] == PNG_NAME]
    edit(ann['segments_info'])
    with open(path, 'w') as f:
        json.dump(data, f)


def test_registered_in_mmdet_scope():
    with DefaultScope.overwrite_default_scope('mmdet'):
        t = TRANSFORMS.build(dict(type='CheckPanopticSegments', backend_args=None))
    assert type(t) is CheckPanopticSegments
    assert repr(t) == 'CheckPanopticSegments(backend_args=None)'


def test_good_samples_pass_unchanged(generated):
    dataset = build(generated)
    assert len(dataset) == 4
    check = CheckPanopticSegments()
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        before = copy.deepcopy(info)
        assert check(info) is info
        assert info == before
        # the PNG and JSON agree, so the check is not vacuous
        assert set(png_ids(info['seg_map_path'])) == {s['id'] for s in info['segments_info']}
        packed = dataset[i]
        sample = packed['data_samples']
        assert len(sample.gt_instances) == sum(s['is_thing'] for s in info['segments_info'])
        assert sample.gt_instances.masks.masks.sum(axis=(1, 2)).min() > 0
    # same output as the pipeline without the check
    unchecked = build(generated, UNCHECKED)
    a, b = dataset[0], unchecked[0]
    assert (a['inputs'] == b['inputs']).all()
    assert (a['data_samples'].gt_sem_seg.sem_seg == b['data_samples'].gt_sem_seg.sem_seg).all()


def test_id_in_png_missing_from_json(root):
    png = osp.join(root, SEG_DIR, PNG_NAME)
    counts = png_ids(png)
    removed = {}

    def drop_one(segments):
        removed.update(segments.pop(1))

    edit_json(root, drop_one)
    assert removed['id'] in counts
    # without the check mmdet loads the sample silently, the pixels becoming ignore (255)
    unchecked = build(root, UNCHECKED)
    sample = unchecked[index_of(unchecked)]['data_samples']
    void = 32 * 32 - sum(counts.values())  # id 0 in the PNG, ignore anyway
    assert (sample.gt_sem_seg.sem_seg == 255).sum() == void + counts[removed['id']]

    dataset = build(root)
    with pytest.raises(ValueError, match='lacks') as err:
        dataset[index_of(dataset)]
    msg = str(err.value)
    assert png in msg
    assert f"{removed['id']} ({counts[removed['id']]} px)" in msg
    # the other samples are untouched
    for i in range(len(dataset)):
        if i != index_of(dataset):
            dataset[i]


def test_json_segment_without_pixels(root):
    png = osp.join(root, SEG_DIR, PNG_NAME)
    absent = max(png_ids(png)) + 77
    assert absent not in png_ids(png)
    edit_json(root, lambda segments: segments.append(dict(
        id=absent, category_id=segments[-1]['category_id'], iscrowd=0, area=10,
        bbox=[0, 0, 4, 4])))
    dataset = build(root)
    idx = index_of(dataset)
    assert absent in [s['id'] for s in dataset.get_data_info(idx)['segments_info']]
    with pytest.raises(ValueError, match='no pixel') as err:
        dataset[idx]
    assert png in str(err.value)
    assert f'[{absent}]' in str(err.value)


def test_truncated_png(root):
    png = osp.join(root, SEG_DIR, PNG_NAME)
    with open(png, 'rb') as f:
        data = f.read()
    with open(png, 'wb') as f:
        f.write(data[:len(data) // 2])
    dataset = build(root)
    with pytest.raises(OSError, match='truncated PNG') as err:
        dataset[index_of(dataset)]
    assert png in str(err.value)


def test_undecodable_and_missing_png(root):
    png = osp.join(root, SEG_DIR, PNG_NAME)
    with open(png, 'wb') as f:  # ends like a PNG, but is none
        f.write(b'not an image' + b'IEND\xaeB`\x82')
    check = CheckPanopticSegments()
    info = build(root).get_data_info(0)
    info = dict(info, seg_map_path=png)
    with pytest.raises(OSError, match='does not decode as an image') as err:
        check(info)
    assert png in str(err.value)
    missing = osp.join(root, SEG_DIR, 'nope.png')
    with pytest.raises(OSError, match='file not found') as err:
        check(dict(info, seg_map_path=missing))
    assert missing in str(err.value)


def test_many_extra_ids_list_five(tmp_path):
    ids = np.arange(1, 9, dtype=np.int64).repeat(np.arange(1, 9))  # id k has k pixels
    ids = np.concatenate([ids, np.zeros(64 - ids.size, np.int64)]).reshape(8, 8)
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 256 ** 2], -1).astype(np.uint8)
    path = str(tmp_path / 'pan.png')
    assert cv2.imwrite(path, rgb[..., ::-1])
    results = dict(seg_map_path=path, segments_info=[dict(id=1, category=0, is_thing=True)])
    with pytest.raises(ValueError) as err:
        CheckPanopticSegments()(results)
    msg = str(err.value)
    assert path in msg and '7 segment id(s)' in msg
    assert '8 (8 px), 7 (7 px), 6 (6 px), 5 (5 px), 4 (4 px) and 2 more' in msg
    # all ids listed: passes, unchanged
    results['segments_info'] = [dict(id=k, category=0, is_thing=True) for k in range(1, 9)]
    assert CheckPanopticSegments()(results) is results


def test_no_seg_map_passes():
    results = dict(seg_map_path=None, segments_info=[dict(id=5)])
    assert CheckPanopticSegments()(results) is results
    with pytest.raises(KeyError, match='segments_info'):
        CheckPanopticSegments()(dict(seg_map_path='x.png'))
