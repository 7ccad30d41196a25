"""MultiTaskEvaluator: routing by task, hand-checked values of mmseg's IoUMetric and
DepthMetric, mixed batches, errors, and one mmengine validation over real mmseg and mmdet sets
with mmdet's CocoPanopticMetric."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from mmdet.evaluation import INSTANCE_OFFSET
from mmengine.model import BaseModel
from mmengine.registry import EVALUATOR, init_default_scope
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement, PixelData
from mmseg.evaluation import DepthMetric, IoUMetric
from mmseg.structures import SegDataSample

import mmgeneralist  # noqa: F401  (registers)
from mmgeneralist.evaluation import MultiTaskEvaluator, multi_task_evaluator
from tests.test_datasets.test_multi_task import (
    NUM_VAL,
    generate_multi_task_data,
    multi_task_configs,
)

CLASSES = ('wall', 'person')
META = dict(tasks=dict(semantic=dict(classes=CLASSES), depth=dict(), panoptic=dict(classes=())),
            task_sizes=dict(semantic=2, depth=2, panoptic=1),
            task_order=('semantic', 'depth', 'panoptic'))
# two 2x4 label maps, half wall (0) and half person (1); two 2x2 depth maps in metres
LABELS = [torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1]]), torch.tensor([[1, 1, 1, 1], [0, 0, 0, 0]])]
DEPTHS = [torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[2.0, 2.0], [2.0, 6.0]])]


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def semantic(index: int, pred: torch.Tensor | None = None) -> SegDataSample:
    gt = LABELS[index]
    return SegDataSample(metainfo=dict(task='semantic'),
                         gt_sem_seg=PixelData(data=gt[None]),
                         pred_sem_seg=PixelData(data=(gt if pred is None else pred)[None]))


def depth(index: int, pred: torch.Tensor | None = None) -> SegDataSample:
    gt = DEPTHS[index]
    return SegDataSample(metainfo=dict(task='depth'),
                         gt_depth_map=PixelData(data=gt[None]),
                         pred_depth_map=PixelData(data=(gt if pred is None else pred)[None]))


def evaluator(**metrics) -> MultiTaskEvaluator:
    metrics = metrics or dict(semantic=dict(type='IoUMetric', iou_metrics=['mIoU']),
                              depth=dict(type='DepthMetric'))
    built = EVALUATOR.build(dict(type='MultiTaskEvaluator', metrics=metrics))
    built.dataset_meta = META
    return built


def run(ev: MultiTaskEvaluator, batches: list[list]) -> dict:
    for batch in batches:
        ev.process(batch, dict(inputs=[torch.zeros(3, 2, 2)] * len(batch), data_samples=batch))
    return ev.evaluate(sum(len(b) for b in batches))


def test_perfect_predictions():
    ev = evaluator()
    assert isinstance(ev.task_metrics['semantic'][0], IoUMetric)
    assert isinstance(ev.task_metrics['depth'][0], DepthMetric)
    results = run(ev, [[semantic(0), depth(0)], [depth(1), semantic(1)]])
    assert set(results) == {'semantic/aAcc', 'semantic/mIoU', 'semantic/mAcc'} | {
        f'depth/{k}' for k in DepthMetric.METRICS}
    assert results['semantic/mIoU'] == 100.0
    assert results['depth/rmse'] == pytest.approx(0.0, abs=1e-6)
    assert results['depth/d1'] == 1.0
    # everything was handed back and cleared
    assert ev._results == [] and all(m.results == [] for m in ev.metrics)


def test_wrong_predictions_give_the_hand_computed_values():
    # all "wall": per class, wall IoU = 8 / 16 = 0.5 (8 wall pixels of 16 predicted wall),
    # person IoU = 0 -> mIoU = 25
    wall = torch.zeros(2, 4, dtype=torch.long)
    # a constant 3 m: per-image RMSE sqrt((4+1+0+1)/4) and sqrt((1+1+1+9)/4), then averaged
    three = torch.full((2, 2), 3.0)
    results = run(evaluator(), [[semantic(0, wall), depth(0, three)],
                                [semantic(1, wall), depth(1, three)]])
    assert results['semantic/mIoU'] == 25.0
    assert results['semantic/aAcc'] == 50.0
    expected_rmse = (np.sqrt(6 / 4) + np.sqrt(12 / 4)) / 2
    assert results['depth/rmse'] == pytest.approx(expected_rmse, rel=1e-6)
    abs_rel = (np.mean([2 / 1, 1 / 2, 0 / 3, 1 / 4]) + np.mean([1 / 2, 1 / 2, 1 / 2, 3 / 6])) / 2
    assert results['depth/abs_rel'] == pytest.approx(abs_rel, rel=1e-6)


def test_mixed_batches_match_each_metric_run_on_its_own_task():
    wall = torch.zeros(2, 4, dtype=torch.long)
    preds = dict(semantic=[semantic(0, wall), semantic(1)],
                 depth=[depth(0, torch.full((2, 2), 3.0)), depth(1, DEPTHS[1] * 1.5)])
    mixed = run(evaluator(), [[preds['depth'][0], preds['semantic'][1], preds['depth'][1]],
                              [preds['semantic'][0]]])
    alone = {}
    for task, metric in (('semantic', IoUMetric(iou_metrics=['mIoU'])), ('depth', DepthMetric())):
        metric.dataset_meta = META['tasks'][task]
        metric.process({}, [s.to_dict() for s in preds[task]])
        alone.update({f'{task}/{k}': v for k, v in metric.evaluate(2).items()})
    assert mixed == pytest.approx(alone)
    assert 0 < mixed['semantic/mIoU'] < 100 and mixed['depth/rmse'] > 0


def test_dict_samples_and_samples_padded_by_the_sampler_are_dropped():
    ev = evaluator()
    # the dataloader pads the last batch with a repeat; evaluate(size) drops it
    samples = [semantic(0).to_dict(), depth(0).to_dict(), semantic(1, torch.zeros(2, 4).long())]
    ev.process(samples, None)
    results = ev.evaluate(2)
    assert results['semantic/mIoU'] == 100.0 and results['depth/rmse'] == pytest.approx(0.0)


class BatchRecorder(IoUMetric):
    """IoUMetric that also records the batch it is given."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batches = []

    def process(self, data_batch, data_samples):
        self.batches.append((data_batch, data_samples))
        super().process(data_batch, data_samples)


def test_each_metric_gets_its_sample_and_the_matching_slice_of_the_batch():
    recorder = BatchRecorder()
    ev = MultiTaskEvaluator(dict(semantic=recorder, depth=dict(type='DepthMetric')))
    ev.dataset_meta = META
    samples = [depth(0), semantic(1), depth(1), semantic(0)]
    inputs = torch.arange(4.0)[:, None]
    ev.process(samples, dict(inputs=inputs, data_samples=samples, batch_level='kept'))
    assert len(recorder.batches) == 2
    for (batch, got), index in zip(recorder.batches, (1, 3)):
        assert batch['inputs'].tolist() == [[float(index)]]
        assert batch['data_samples'] == [samples[index]] and batch['batch_level'] == 'kept'
        assert len(got) == 1 and got[0]['task'] == 'semantic'
        assert torch.equal(got[0]['gt_sem_seg']['data'], samples[index].gt_sem_seg.data)


def test_prefixes_and_duplicate_keys():
    ev = evaluator(semantic=[dict(type='IoUMetric', prefix='iou'),
                             dict(type='IoUMetric', iou_metrics=['mDice'])])
    results = run(ev, [[semantic(0)]])
    assert results['semantic/iou/mIoU'] == 100.0 and results['semantic/mDice'] == 100.0
    twice = evaluator(semantic=[dict(type='IoUMetric'), dict(type='IoUMetric')])
    with pytest.raises(ValueError, match="'semantic/aAcc'"):
        run(twice, [[semantic(0)]])


def test_tasks_without_metrics_are_ignored_and_tasks_without_samples_skipped(monkeypatch):
    logged = []
    monkeypatch.setattr(multi_task_evaluator, 'print_log',
                        lambda msg, logger=None, level=logging.INFO: logged.append((msg, level)))
    ev = evaluator()
    other = BaseDataElement(metainfo=dict(task='panoptic'))  # no metric: not evaluated
    results = run(ev, [[other, semantic(0)], [other]])
    assert set(k.split('/')[0] for k in results) == {'semantic'}
    assert [level for msg, level in logged if "task 'depth'" in msg] == [logging.WARNING]


def test_untagged_samples_and_tasks_missing_from_the_dataset_raise():
    ev = evaluator()
    untagged = semantic(0)
    untagged.set_metainfo(dict(task=None))
    with pytest.raises(ValueError, match='MultiTaskDataset'):
        ev.process([SegDataSample(gt_sem_seg=PixelData(data=LABELS[0][None]))])
    with pytest.raises(ValueError, match='MultiTaskDataset'):
        ev.process([untagged.to_dict()])
    extra = MultiTaskEvaluator(dict(semantic=dict(type='IoUMetric'),
                                    normals=dict(type='DepthMetric')))
    with pytest.raises(ValueError, match=r"\['normals'\].*\['semantic', 'depth', 'panoptic'\]"):
        extra.dataset_meta = META
    with pytest.raises(ValueError, match='MultiTaskDataset'):
        extra.dataset_meta = dict(classes=CLASSES)  # a plain data set's metainfo
    with pytest.raises(ValueError, match='task name'):
        MultiTaskEvaluator([dict(type='IoUMetric')])


def test_metric_configs_build_in_their_scope():
    ev = MultiTaskEvaluator(dict(
        panoptic=dict(type='mmdet.CocoPanopticMetric', nproc=1),
        panoptic_scoped=dict(type='CocoPanopticMetric', _scope_='mmdet', nproc=1),
        semantic=dict(type='IoUMetric')))
    assert [type(m).__module__.split('.')[0] for m in ev.metrics] == ['mmdet', 'mmdet', 'mmseg']


# ------------------------------------------ one mmengine validation over three real data sets


class PerfectModel(BaseModel):
    """Predicts each sample's ground truth, by task (what a perfect generalist would)."""

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def val_step(self, data: dict) -> list:
        for sample in data['data_samples']:
            if sample.task == 'semantic':
                sample.pred_sem_seg = PixelData(data=sample.gt_sem_seg.data)
            elif sample.task == 'depth':
                sample.pred_depth_map = PixelData(data=sample.gt_depth_map.data)
            else:  # stuff labels where not a thing, each instance its own id; 255 -> VOID
                num_classes = len(self.dataset_meta['tasks']['panoptic']['classes'])
                pan = sample.gt_sem_seg.sem_seg[0].long().clone()
                pan[pan == 255] = num_classes
                for i, (mask, label) in enumerate(zip(sample.gt_instances.masks.to_tensor(
                        torch.bool, 'cpu'), sample.gt_instances.labels)):
                    pan[mask] = label + (i + 1) * INSTANCE_OFFSET
                sample.pred_panoptic_seg = PixelData(sem_seg=pan[None])
        return data['data_samples']


def test_one_validation_reports_each_tasks_upstream_metric(tmp_path):
    root = generate_multi_task_data(tmp_path / 'data')
    dataset = dict(type='MultiTaskDataset', datasets=multi_task_configs(root))
    panoptic = f'{root}/coco_panoptic/annotations/panoptic_val2017'
    model = PerfectModel()
    runner = Runner(
        model=model, work_dir=str(tmp_path / 'work'), default_scope='mmseg',
        val_dataloader=dict(batch_size=5, num_workers=0, dataset=dataset,  # batches mix tasks
                            sampler=dict(type='DefaultSampler', shuffle=False)),
        val_cfg=dict(type='ValLoop'),
        val_evaluator=dict(type='MultiTaskEvaluator', metrics=dict(
            semantic=dict(type='IoUMetric', iou_metrics=['mIoU']),
            depth=dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0),
            panoptic=dict(type='mmdet.CocoPanopticMetric', ann_file=f'{panoptic}.json',
                          seg_prefix=panoptic, nproc=1))))
    model.dataset_meta = runner.val_dataloader.dataset.metainfo
    results = runner.val()
    assert results['semantic/mIoU'] == 100.0
    assert results['depth/rmse'] == pytest.approx(0.0, abs=1e-6)
    assert results['panoptic/coco_panoptic/PQ'] == pytest.approx(100.0)
    assert not any(key.startswith('panoptic/') and key.endswith('mIoU') for key in results)
    assert len(runner.val_dataloader.dataset) == 3 * NUM_VAL
