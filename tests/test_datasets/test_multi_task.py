"""MultiTaskDataset (real mmseg and mmdet data sets, tags, index mapping, metainfo, errors) and
MultiTaskSampler (task frequencies, ranges, seeds, ranks, bad weights)."""
from __future__ import annotations

import collections
import itertools

import pytest
import torch
from mmengine.dataset import BaseDataset, pseudo_collate
from mmengine.registry import DATA_SAMPLERS, DATASETS, DefaultScope, init_default_scope
from mmseg.structures import SegDataSample

import mmgeneralist  # noqa: F401  (registers)
from mmgeneralist.datasets import (
    SYNTHETIC_ADE_CLASSES,
    SYNTHETIC_PANOPTIC_METAINFO,
    MultiTaskDataset,
    MultiTaskSampler,
    multi_task,
)
from tests.conftest import run_tool

NUM_VAL = 4


def multi_task_configs(root: str) -> dict:
    """Val-set configs of the generated ADE, NYU and COCO-panoptic data under ``root``."""
    return dict(
        semantic=dict(
            type='ADE20KDataset', data_root=f'{root}/ade',
            metainfo=dict(classes=SYNTHETIC_ADE_CLASSES),
            data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations', reduce_zero_label=True),
                      dict(type='PackSegInputs')]),
        depth=dict(
            type='NYUDataset', data_root=f'{root}/nyu', test_mode=True,
            data_prefix=dict(img_path='images/test', depth_map_path='annotations/test'),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
                      dict(type='PackSegInputs')]),
        panoptic=dict(
            type='CocoPanopticDataset', _scope_='mmdet', data_root=f'{root}/coco_panoptic',
            ann_file='annotations/panoptic_val2017.json', test_mode=True,
            data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
            metainfo=SYNTHETIC_PANOPTIC_METAINFO,
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadPanopticAnnotations', backend_args=None),
                      dict(type='PackDetInputs')]))


def generate_multi_task_data(out) -> str:
    """Generate tiny ADE, NYU and COCO-panoptic data sets in ``out``; return ``out``."""
    run_tool('tools/dataset_converters/generate_synthetic.py', '--out', str(out), '--formats',
             'ade', 'nyu', 'coco_panoptic', '--num-train', '8', '--num-val', str(NUM_VAL),
             '--size', '32', '--seed', '0', '--no-progress')
    return str(out)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return generate_multi_task_data(tmp_path_factory.mktemp('multi-task'))


@pytest.fixture
def mmseg_scope():
    init_default_scope('mmseg')
    return DefaultScope.get_current_instance()


class ToyDataset(BaseDataset):
    """``num`` samples; sample ``i`` packs a SegDataSample with metainfo ``index=i``."""

    def __init__(self, num: int, name: str = 'toy', **kwargs):
        self.num = num
        kwargs.setdefault('pipeline', [self.pack])
        super().__init__(metainfo=dict(name=name), **kwargs)

    def load_data_list(self) -> list[dict]:
        return [dict(index=i) for i in range(self.num)]

    @staticmethod
    def pack(results: dict) -> dict:
        return dict(inputs=torch.full((1, 2, 2), float(results['index'])),
                    data_samples=SegDataSample(metainfo=dict(index=results['index'])))


def toy_multi_task(**sizes: int) -> MultiTaskDataset:
    return MultiTaskDataset({task: ToyDataset(n, name=task) for task, n in sizes.items()})


# ---------------------------------------------------------------- MultiTaskDataset


def test_real_datasets_lengths_tags_index_mapping_and_metainfo(data_root, mmseg_scope):
    dataset = DATASETS.build(dict(type='MultiTaskDataset', datasets=multi_task_configs(data_root)))
    assert isinstance(dataset, MultiTaskDataset)
    assert dataset.tasks == ('semantic', 'depth', 'panoptic')
    assert len(dataset) == 3 * NUM_VAL
    assert dataset.cumulative_sizes == [NUM_VAL, 2 * NUM_VAL, 3 * NUM_VAL]
    # three different metainfos: no equality required (mmengine's ConcatDataset would refuse)
    meta = dataset.metainfo
    assert meta['task_order'] == dataset.tasks
    assert meta['task_sizes'] == dict(semantic=NUM_VAL, depth=NUM_VAL, panoptic=NUM_VAL)
    assert tuple(meta['tasks']['semantic']['classes']) == SYNTHETIC_ADE_CLASSES
    assert tuple(meta['tasks']['panoptic']['thing_classes']) == tuple(
        SYNTHETIC_PANOPTIC_METAINFO['thing_classes'])
    assert meta['tasks']['depth'] == dataset.datasets['depth'].metainfo
    meta['tasks']['semantic']['classes'] = ('changed', )  # a copy
    assert tuple(dataset.metainfo['tasks']['semantic']['classes']) == SYNTHETIC_ADE_CLASSES

    expected = {'semantic': ('SegDataSample', 'gt_sem_seg'),
                'depth': ('SegDataSample', 'gt_depth_map'),
                'panoptic': ('DetDataSample', 'gt_instances')}
    for idx in range(len(dataset)):
        task, local = dataset.tasks[idx // NUM_VAL], idx % NUM_VAL
        assert dataset.task_of(idx) == task
        data = dataset[idx]
        sample = data['data_samples']
        assert sample.task == task
        assert (type(sample).__name__, expected[task][1] in sample) == (expected[task][0], True)
        # the same sample as the task's own data set gives, image for image
        own = dataset.datasets[task][local]
        assert sample.img_path == own['data_samples'].img_path
        assert torch.equal(data['inputs'], own['inputs'])
        assert dataset.get_data_info(idx)['img_path'] == own['data_samples'].img_path
        assert dataset.get_data_info(idx)['task'] == task
    assert dataset[-1]['data_samples'].img_path == dataset[3 * NUM_VAL - 1]['data_samples'].img_path
    for bad in (3 * NUM_VAL, -3 * NUM_VAL - 1):
        with pytest.raises(IndexError, match='out of range'):
            dataset[bad]


def test_scope_key_builds_the_nested_pipeline_in_mmdet_scope(data_root, mmseg_scope):
    configs = multi_task_configs(data_root)
    dataset = MultiTaskDataset(dict(panoptic=configs['panoptic'], semantic=configs['semantic']))
    panoptic = dataset.datasets['panoptic']
    assert type(panoptic).__module__.startswith('mmdet.')
    modules = [type(t).__module__ for t in panoptic.pipeline.transforms]
    assert modules[1].startswith('mmdet.') and modules[2].startswith('mmdet.'), modules
    # the semantic data set, built after, is back in mmseg's scope
    assert all(type(t).__module__.startswith(('mmseg.', 'mmcv.'))
               for t in dataset.datasets['semantic'].pipeline.transforms)
    assert DefaultScope.get_current_instance().scope_name == 'mmseg'
    # without _scope_, the type's 'mmdet.' finds the data set, but mmseg's scope does not
    # know mmdet's transforms
    configs['panoptic'].pop('_scope_')
    configs['panoptic']['type'] = 'mmdet.CocoPanopticDataset'
    with pytest.raises(KeyError, match='LoadPanopticAnnotations'):
        MultiTaskDataset(dict(panoptic=configs['panoptic']))


def test_dataloader_batches_mix_tasks_with_tags(data_root, mmseg_scope):
    dataset = MultiTaskDataset(multi_task_configs(data_root))
    sampler = MultiTaskSampler(dataset, task_weights=dict(panoptic=2.0), seed=0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=6, sampler=sampler,
                                         collate_fn=pseudo_collate)
    for batch in itertools.islice(loader, 3):
        assert len(batch['inputs']) == len(batch['data_samples']) == 6
        for sample in batch['data_samples']:
            assert sample.task in dataset.tasks
            assert sample.task != 'panoptic' or type(sample).__name__ == 'DetDataSample'


def test_instances_and_lazy_init():
    datasets = dict(a=ToyDataset(2, 'a', lazy_init=True), b=ToyDataset(3, 'b', lazy_init=True))
    dataset = MultiTaskDataset(datasets, lazy_init=True)
    assert not datasets['a']._fully_initialized
    assert len(dataset) == 5 and datasets['a']._fully_initialized
    assert [dataset[i]['data_samples'].index for i in range(5)] == [0, 1, 0, 1, 2]
    assert [dataset[i]['data_samples'].task for i in range(5)] == ['a', 'a', 'b', 'b', 'b']
    assert dataset.metainfo['tasks'] == dict(a=dict(name='a'), b=dict(name='b'))


def test_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match='task name'):
        MultiTaskDataset({})
    for serialize_data in (True, False):  # mmengine fails to serialize 0 samples
        empty = ToyDataset(0, data_root=str(tmp_path), serialize_data=serialize_data,
                           lazy_init=True)
        with pytest.raises(ValueError, match=r"'restoration'.*" + str(tmp_path)):
            MultiTaskDataset(dict(semantic=ToyDataset(2), restoration=empty))
    # a real data set whose folders are empty
    for folder in ('images/validation', 'annotations/validation'):
        (tmp_path / 'ade' / folder).mkdir(parents=True)
    init_default_scope('mmseg')
    config = multi_task_configs(str(tmp_path))['semantic']
    with pytest.raises(ValueError, match=r"task 'semantic' \(data_root='.*ade'\) has no samples"):
        MultiTaskDataset(dict(semantic=config))
    with pytest.raises(TypeError, match="task 'a'"):
        MultiTaskDataset(dict(a=[1, 2]))
    unpacked = MultiTaskDataset(dict(a=ToyDataset(2, pipeline=[lambda r: dict(r, inputs=0)])))
    with pytest.raises(TypeError, match='Pack transform'):
        unpacked[0]


# ---------------------------------------------------------------- MultiTaskSampler


def _draw(sampler: MultiTaskSampler, n: int) -> list[int]:
    return list(itertools.islice(iter(sampler), n))


def test_task_frequencies_follow_the_weights_not_the_sizes(mmseg_scope):
    dataset = toy_multi_task(depth=3, semantic=50, panoptic=7)
    sampler = DATA_SAMPLERS.build(dict(type='MultiTaskSampler', task_weights=dict(panoptic=2.0)),
                                  default_args=dict(dataset=dataset, seed=0))
    assert isinstance(sampler, MultiTaskSampler) and len(sampler) == 60
    n = 20000
    indices = _draw(sampler, n)
    assert all(0 <= i < 60 for i in indices)
    counts = collections.Counter(dataset.task_of(i) for i in indices)
    for task, share in dict(depth=0.25, semantic=0.25, panoptic=0.5).items():
        assert abs(counts[task] / n - share) < 0.02, counts
    # uniform within a task: each of the 3 depth samples about a third of the depth draws
    depth = collections.Counter(i for i in indices if i < 3)
    assert sorted(depth) == [0, 1, 2]
    assert all(abs(c / counts['depth'] - 1 / 3) < 0.03 for c in depth.values()), depth
    # and every sample of the big task is reached
    assert set(i for i in indices if 3 <= i < 53) == set(range(3, 53))

    even = _draw(MultiTaskSampler(dataset, seed=1), n)
    counts = collections.Counter(dataset.task_of(i) for i in even)
    assert all(abs(c / n - 1 / 3) < 0.02 for c in counts.values()), counts


def test_seeded_streams_are_deterministic_and_ranks_share_one_stream(monkeypatch):
    dataset = toy_multi_task(a=4, b=9)
    first = _draw(MultiTaskSampler(dataset, seed=3), 5000)
    again = MultiTaskSampler(dataset, seed=3)
    again.set_epoch(7)  # a no-op
    assert _draw(again, 5000) == first
    assert _draw(MultiTaskSampler(dataset, seed=4), 5000) != first

    ranks = []
    for rank in range(2):
        monkeypatch.setattr(multi_task, 'get_dist_info', lambda rank=rank: (rank, 2))
        ranks.append(_draw(MultiTaskSampler(dataset, seed=3), 2500))
    assert ranks[0] == first[0::2] and ranks[1] == first[1::2]


def test_bad_weights_and_datasets_raise():
    dataset = toy_multi_task(depth=2, semantic=2)
    with pytest.raises(ValueError, match=r"\['panoptc'\].*\['depth', 'semantic'\]"):
        MultiTaskSampler(dataset, task_weights=dict(panoptc=2.0))
    for weight in (0.0, -1.0, float('nan')):
        with pytest.raises(ValueError, match='positive'):
            MultiTaskSampler(dataset, task_weights=dict(depth=weight))
    with pytest.raises(TypeError, match='MultiTaskDataset'):
        MultiTaskSampler(ToyDataset(3))
