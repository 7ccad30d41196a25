"""An evaluator that validates each task of a :class:`~mmgeneralist.datasets.MultiTaskDataset`
with its own metrics, in the same validation.

mmdet's ``MultiDatasetsEvaluator`` gives every sample to every metric (mmseg's ``IoUMetric``
then fails on a depth sample). :class:`MultiTaskEvaluator` routes each sample by its ``task``
metainfo (set by the ``MultiTaskDataset``) to that task's metrics only, and prefixes each
result with the task: ``depth/rmse``, ``semantic/mIoU``, ``panoptic/coco_panoptic/PQ``.

Example::

    val_evaluator = dict(type='MultiTaskEvaluator', metrics=dict(
        depth=dict(type='DepthMetric', crop_type=None),
        semantic=dict(type='IoUMetric', iou_metrics=['mIoU']),
        panoptic=dict(type='mmdet.CocoPanopticMetric', ann_file=..., seg_prefix=...)))
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from mmengine.dist import broadcast_object_list, collect_results, is_main_process
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.evaluator.metric import _to_cpu
from mmengine.logging import print_log
from mmengine.registry import EVALUATOR, METRICS
from mmengine.structures import BaseDataElement
from torch import Tensor

__all__ = ['MultiTaskEvaluator']


def _one_of(data: Any, index: int, size: int) -> Any:
    """The ``index``-th sample of a collated batch of ``size`` samples, as a batch of one.

    Dicts are sliced value by value; lists, tuples and tensors of length ``size`` are sliced;
    anything else (e.g. a batch-level value) is passed as it is.
    """
    if isinstance(data, dict):
        return {key: _one_of(value, index, size) for key, value in data.items()}
    if isinstance(data, (list, tuple, Tensor)) and len(data) == size:
        return data[index:index + 1]
    return data


@EVALUATOR.register_module()
class MultiTaskEvaluator(Evaluator):
    """Each task's metrics on that task's samples of a ``MultiTaskDataset``.

    Every sample goes to the metrics of its ``task`` (samples of a task without metrics are
    not evaluated). The results are kept per sample, in order, so that they are gathered from
    all ranks in the data set's order, as mmengine's metrics are.

    Args:
        metrics: Task name -> that task's metric: a config (built with mmengine's
            ``METRICS.build``; ``_scope_='mmdet'`` or ``type='mmdet.CocoPanopticMetric'`` for
            another codebase's metric), a metric, or a list of them.

    Raises:
        ValueError: If ``metrics`` is not a non-empty dict.
    """

    def __init__(self, metrics: dict[str, dict | BaseMetric | list]):
        if not isinstance(metrics, dict) or not metrics:
            raise ValueError('MultiTaskEvaluator needs a dict of task name -> metric config(s), '
                             "e.g. metrics=dict(semantic=dict(type='IoUMetric')); "
                             f'got {metrics!r}')
        super().__init__([])
        self.task_metrics: dict[str, list[BaseMetric]] = {}
        for task, task_metrics in metrics.items():
            if not isinstance(task_metrics, (list, tuple)):
                task_metrics = [task_metrics]
            self.task_metrics[task] = [
                METRICS.build(m) if isinstance(m, dict) else m for m in task_metrics]
        self.metrics = [m for task_metrics in self.task_metrics.values() for m in task_metrics]
        # one entry per processed sample: (task, [(metric index in the task, result), ...])
        self._results: list[tuple[str, list[tuple[int, Any]]]] = []

    @property
    def dataset_meta(self) -> dict | None:
        """The ``MultiTaskDataset``'s metainfo; each metric gets its own task's."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        if not isinstance(dataset_meta, dict) or 'tasks' not in dataset_meta:
            raise ValueError('MultiTaskEvaluator needs the metainfo of a MultiTaskDataset (with '
                             '"tasks"): make the val dataset type="MultiTaskDataset"')
        tasks = dataset_meta['tasks']
        missing = [task for task in self.task_metrics if task not in tasks]
        if missing:
            raise ValueError(f'MultiTaskEvaluator has metrics for tasks {missing} that the '
                             f'data set lacks: its tasks are {list(tasks)}, the metrics\' '
                             f'are {list(self.task_metrics)}')
        self._dataset_meta = dataset_meta
        for task, task_metrics in self.task_metrics.items():
            for metric in task_metrics:
                metric.dataset_meta = tasks[task]

    def process(self, data_samples: Sequence[BaseDataElement | dict],
                data_batch: Any | None = None) -> None:
        """Give each sample (and its part of ``data_batch``) to its task's metrics.

        Args:
            data_samples: The model's outputs, each with the ``task`` metainfo.
            data_batch: The collated batch from the dataloader (``inputs`` and
                ``data_samples``), if any.

        Raises:
            ValueError: If a sample has no ``task``.
        """
        samples = [s.to_dict() if isinstance(s, BaseDataElement) else s for s in data_samples]
        for index, sample in enumerate(samples):
            task = sample.get('task')
            if task is None:
                raise ValueError('MultiTaskEvaluator got a sample without a "task" metainfo: '
                                 'the val dataset must be a MultiTaskDataset, which tags its '
                                 'samples with their task')
            entries = []
            for metric_index, metric in enumerate(self.task_metrics.get(task, ())):
                start = len(metric.results)
                metric.process(_one_of(data_batch, index, len(samples)), [sample])
                entries.extend((metric_index, result) for result in metric.results[start:])
                del metric.results[start:]
            self._results.append((task, entries))

    def evaluate(self, size: int) -> dict:
        """Gather the results of all ranks and compute each task's metrics.

        Args:
            size: The length of the whole val data set (drops the samples the sampler
                repeated to even out the ranks).

        Returns:
            dict: ``{'<task>/<metric prefix>/<key>': value}`` (no metric prefix when the
            metric has none), for every task with samples.
        """
        results = collect_results(self._results, size, 'cpu')
        if is_main_process():
            metrics = [self._compute_metrics(_to_cpu(results))]
        else:
            metrics = [None]
        broadcast_object_list(metrics)
        self._results.clear()
        for metric in self.metrics:
            metric.results.clear()
        return metrics[0]

    def _compute_metrics(self, results: list[tuple[str, list[tuple[int, Any]]]]) -> dict:
        """Each task's metrics from the gathered per-sample results (main process)."""
        per_task = {task: [[] for _ in ms] for task, ms in self.task_metrics.items()}
        counts = dict.fromkeys(self.task_metrics, 0)
        for task, entries in results:
            if task not in per_task:
                continue  # a task without metrics
            counts[task] += 1
            for metric_index, result in entries:
                per_task[task][metric_index].append(result)
        out: dict = {}
        for task, task_metrics in self.task_metrics.items():
            if counts[task] == 0:
                print_log(f'MultiTaskEvaluator: no samples of task {task!r} were evaluated; '
                          'its metrics are skipped', logger='current', level=logging.WARNING)
                continue
            for metric, metric_results in zip(task_metrics, per_task[task]):
                metric.results = metric_results
                for key, value in metric.compute_metrics(metric_results).items():
                    key = '/'.join((task, metric.prefix, key) if metric.prefix else (task, key))
                    if key in out:
                        raise ValueError(f'two metrics of task {task!r} both give {key!r}: '
                                         'give one of them another prefix')
                    out[key] = value
        return out
