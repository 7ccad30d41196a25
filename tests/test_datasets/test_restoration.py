"""PairedRestorationDataset, LoadRestorationTarget and PackRestorationInputs on generated pairs."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import DATASETS, TRANSFORMS, DefaultScope

import mmgeneralist  # noqa: F401  (registers the modules)
from mmgeneralist.datasets import (
    LoadRestorationTarget,
    PackRestorationInputs,
    PairedRestorationDataset,
    generate_synthetic,
)

SIZE = 48  # generated side; the pipeline resizes the input to 32
NUM_TRAIN, NUM_VAL = 3, 2
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadRestorationTarget'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='PackRestorationInputs'),
]


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp('restoration')
    dirs = generate_synthetic(str(out), ['restoration'], NUM_TRAIN, NUM_VAL, SIZE, seed=0)
    return dirs['restoration']


def build(data_root, task='denoise', split='train', pipeline=PIPELINE, **kwargs):
    """The dataset as a config under ``default_scope='mmseg'`` builds it."""
    cfg = dict(type='PairedRestorationDataset', data_root=str(data_root), task=task,
               split=split, pipeline=pipeline, **kwargs)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(cfg)


def write_png(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(str(path), array)


def make_pairs(root, pairs, task='denoise', split='train'):
    """Write ``{name: (input array or None, target array or None)}`` under root."""
    d = osp.join(root, task, split)
    os.makedirs(osp.join(d, 'input'), exist_ok=True)
    os.makedirs(osp.join(d, 'target'), exist_ok=True)
    for name, (inp, tgt) in pairs.items():
        if inp is not None:
            write_png(osp.join(d, 'input', name), inp)
        if tgt is not None:
            write_png(osp.join(d, 'target', name), tgt)
    return d


def rand_img(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ------------------------------------------------------------------------------ pairing
@pytest.mark.parametrize('task,split,num', [('denoise', 'train', NUM_TRAIN),
                                            ('lowlight', 'val', NUM_VAL)])
def test_pairs_sizes_and_metainfo(root, task, split, num):
    dataset = build(root, task, split)
    assert isinstance(dataset, PairedRestorationDataset)
    assert len(dataset) == num
    assert dataset.metainfo == dict(task_name=task)
    names = sorted(os.listdir(osp.join(root, task, split, 'input')))
    assert len(names) == num and sorted(os.listdir(osp.join(root, task, split, 'target'))) == names
    for idx, name in enumerate(names):
        info = dataset.get_data_info(idx)
        assert info['img_path'] == osp.join(root, task, split, 'input', name)
        assert info['gt_img_path'] == osp.join(root, task, split, 'target', name)
        assert info['restoration_task'] == task

        sample = dataset[idx]
        inputs, ds = sample['inputs'], sample['data_samples']
        # the input: resized by Resize, BGR as mmseg packs it, contiguous uint8
        assert inputs.shape == (3, 32, 32) and inputs.dtype == torch.uint8
        assert inputs.is_contiguous()
        bgr_in = cv2.imread(info['img_path'], cv2.IMREAD_COLOR)
        expected_in = cv2.resize(bgr_in, (32, 32), interpolation=cv2.INTER_LINEAR)
        assert torch.equal(inputs, torch.from_numpy(expected_in.transpose(2, 0, 1).copy()))
        # the target: the clean PNG on disk, in RGB, at its own (unresized) size
        gt = ds.gt_image.data
        assert gt.shape == (3, SIZE, SIZE) and gt.dtype == torch.uint8 and gt.is_contiguous()
        rgb_target = cv2.imread(info['gt_img_path'], cv2.IMREAD_COLOR)[..., ::-1]
        assert torch.equal(gt, torch.from_numpy(rgb_target.transpose(2, 0, 1).copy()))
        rgb_input = bgr_in[..., ::-1]
        assert not np.array_equal(rgb_input, rgb_target)  # the pair is degraded vs clean
        # metainfo: the keys present, including ours
        assert ds.img_path == info['img_path']
        assert ds.gt_img_path == info['gt_img_path']
        assert ds.restoration_task == task
        assert tuple(ds.ori_shape) == (SIZE, SIZE)
        assert tuple(ds.img_shape) == (32, 32)
        assert 'flip' not in ds.metainfo and 'seg_map_path' not in ds.metainfo


def test_denoise_and_deblur_share_targets(root):
    """Each task pairs its own degraded input with the same clean render."""
    a = build(root, 'denoise', 'val')[0]['data_samples'].gt_image.data
    b = build(root, 'deblur', 'val')[0]['data_samples'].gt_image.data
    assert torch.equal(a, b)


def test_lazy_init_and_indices(root):
    dataset = build(root, lazy_init=True)
    assert not dataset._fully_initialized
    dataset.full_init()
    assert len(dataset) == NUM_TRAIN
    assert len(build(root, indices=2)) == 2


def test_pack_without_target_and_custom_meta_keys():
    results = dict(img=rand_img(8, 6), img_path='x.png', ori_shape=(8, 6), extra=1)
    packed = PackRestorationInputs(meta_keys=('img_path', 'extra'))(results)
    assert packed['inputs'].shape == (3, 8, 6)
    assert 'gt_image' not in packed['data_samples']
    assert packed['data_samples'].metainfo == dict(img_path='x.png', extra=1)
    assert 'gt_img_path' in PackRestorationInputs().meta_keys
    assert 'restoration_task' in PackRestorationInputs().meta_keys


# ------------------------------------------------------------------------------ bad data
def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.*generate_synthetic.py --formats '
                                                'restoration'):
        build(tmp_path / 'nope')


def test_missing_task_lists_the_tasks(root):
    with pytest.raises(FileNotFoundError, match=r'derain.*holds: deblur, denoise, lowlight'):
        build(root, task='derain')


def test_missing_target_dir(tmp_path):
    os.makedirs(tmp_path / 'denoise' / 'train' / 'input')
    write_png(tmp_path / 'denoise' / 'train' / 'input' / 'a.png', rand_img(16, 16))
    with pytest.raises(FileNotFoundError, match=r'target does not exist'):
        build(tmp_path)


def test_no_images(tmp_path):
    make_pairs(tmp_path, {})
    (tmp_path / 'denoise' / 'train' / 'input' / 'notes.txt').write_text('no image')
    with pytest.raises(ValueError, match=r'input holds no image.*generate_synthetic'):
        build(tmp_path)


def test_input_without_target(tmp_path):
    img = rand_img(16, 16)
    d = make_pairs(tmp_path, {'a.png': (img, img), 'b.png': (img, None)})
    with pytest.raises(FileNotFoundError) as err:
        build(tmp_path)
    assert osp.join(d, 'target', 'b.png') in str(err.value)
    assert 'a.png' not in str(err.value)


def test_pair_of_different_sizes(tmp_path):
    d = make_pairs(tmp_path, {'a.png': (rand_img(40, 32), rand_img(32, 32))})
    dataset = build(tmp_path)
    with pytest.raises(ValueError, match='must have the same size') as err:
        dataset[0]
    message = str(err.value)
    assert osp.join(d, 'input', 'a.png') in message and osp.join(d, 'target', 'a.png') in message
    assert '32x40' in message and '32x32' in message


def test_size_check_uses_the_original_shape(tmp_path):
    """A Resize before the target loader does not make a matching pair fail."""
    make_pairs(tmp_path, {'a.png': (rand_img(40, 40), rand_img(40, 40, seed=1))})
    pipeline = [PIPELINE[0], PIPELINE[2], PIPELINE[1], PIPELINE[3]]
    sample = build(tmp_path, pipeline=pipeline)[0]
    assert sample['inputs'].shape == (3, 32, 32)
    assert sample['data_samples'].gt_image.data.shape == (3, 40, 40)


def test_truncated_target(tmp_path):
    d = make_pairs(tmp_path, {'a.png': (rand_img(24, 24), rand_img(24, 24))})
    target = osp.join(d, 'target', 'a.png')
    data = open(target, 'rb').read()
    with open(target, 'wb') as f:
        f.write(data[:len(data) // 2])
    dataset = build(tmp_path)
    with pytest.raises(OSError, match='truncated PNG') as err:
        dataset[0]
    assert target in str(err.value)
    # without the end-marker check the decoder itself must refuse it
    results = dict(gt_img_path=target)
    with pytest.raises(OSError) as err:
        LoadRestorationTarget(check_truncation=False)(results)
    assert target in str(err.value)


def test_corrupt_target(tmp_path):
    d = make_pairs(tmp_path, {'a.png': (rand_img(24, 24), None)})
    target = osp.join(d, 'target', 'a.png')
    with open(target, 'wb') as f:  # ends like a PNG, but is not one
        f.write(b'this is not an image' * 10 + b'IEND\xaeB`\x82')
    dataset = build(tmp_path)
    with pytest.raises(OSError, match='does not decode') as err:
        dataset[0]
    assert target in str(err.value)


def test_missing_target_file_at_load_time(tmp_path):
    with pytest.raises(OSError, match='file not found') as err:
        LoadRestorationTarget()(dict(gt_img_path=str(tmp_path / 'gone.png')))
    assert 'gone.png' in str(err.value)
    with pytest.raises(KeyError, match='gt_img_path'):
        LoadRestorationTarget()(dict(img_path='x.png'))


def test_transforms_in_registry():
    with DefaultScope.overwrite_default_scope('mmseg'):
        assert isinstance(TRANSFORMS.build(dict(type='LoadRestorationTarget')),
                          LoadRestorationTarget)
        assert isinstance(TRANSFORMS.build(dict(type='PackRestorationInputs')),
                          PackRestorationInputs)


def test_metainfo_conflict(root):
    with pytest.raises(ValueError, match='task_name'):
        build(root, metainfo=dict(task_name='deblur'))
    assert build(root, metainfo=dict(task_name='denoise', extra=1)).metainfo == dict(
        task_name='denoise', extra=1)


def test_no_codebase_registers_our_names():
    """A same-named class in a codebase's own registry would win over ours in its scope."""
    import importlib
    for scope in ('mmseg', 'mmdet', 'mmpose', 'mmpretrain'):
        codebase = importlib.import_module(f'{scope}.registry')
        for kind, names in (('DATASETS', {'PairedRestorationDataset'}),
                            ('TRANSFORMS', {'LoadRestorationTarget', 'PackRestorationInputs'})):
            registry = getattr(codebase, kind)
            registry.import_from_location()
            assert registry.module_dict, (scope, kind)
            assert not names & set(registry.module_dict), (scope, kind)
            with DefaultScope.overwrite_default_scope(scope):
                for name in names:
                    assert registry.get(name).__module__ == 'mmgeneralist.datasets.restoration'
