"""One data set over several tasks' data sets, and a sampler that weights the tasks.

A generalist trains one model on depth, semantic and panoptic segmentation, restoration, ...
:class:`MultiTaskDataset` puts each task's own data set (mmseg's ``NYUDataset``,
``ADE20KDataset``, mmdet's ``CocoPanopticDataset``, ...) behind one index and tags every sample
with its task (``data_samples.task``), which the model and
:class:`~mmgeneralist.evaluation.MultiTaskEvaluator` route by. Unlike mmengine's
``ConcatDataset``, the data sets keep their own, different ``metainfo``.
:class:`MultiTaskSampler` draws training samples with a weight per task.

Example (the train and val dataloaders of a config)::

    train_dataloader = dict(
        batch_size=8,
        sampler=dict(type='MultiTaskSampler', task_weights=dict(panoptic=2.0)),
        dataset=dict(type='MultiTaskDataset', datasets=dict(
            depth=dict(type='NYUDataset', ...),
            semantic=dict(type='ADE20KDataset', ...),
            panoptic=dict(type='CocoPanopticDataset', _scope_='mmdet', ...))))
    val_dataloader = dict(
        batch_size=8,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='MultiTaskDataset', datasets=dict(...)))
"""
from __future__ import annotations

import bisect
import copy
import itertools
from collections.abc import Iterator

import torch
from mmengine.dataset import BaseDataset
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS, DATASETS
from mmengine.structures import BaseDataElement
from torch.utils.data import Dataset, Sampler

from ..registry import register

__all__ = ['MultiTaskDataset', 'MultiTaskSampler']

#: What mmengine's ``BaseDataset`` raises when it serializes a data list of 0 samples
_EMPTY_ERROR = 'need at least one array to concatenate'


def _no_samples(task: str, data_root: str | None) -> ValueError:
    """The error for a task whose data set has no samples."""
    where = f' (data_root={data_root!r})' if data_root else ''
    return ValueError(f'the data set of task {task!r}{where} has no samples: check its '
                      'data_root, data_prefix and ann_file, or drop the task')


@register('datasets')
class MultiTaskDataset(Dataset):
    """The samples of several tasks' data sets, one after the other, each tagged with its task.

    Index ``i`` is sample ``i - cumulative_sizes[t - 1]`` of the ``t``-th task's data set; its
    ``data['data_samples']`` gets the metainfo ``task=<task name>``.

    Args:
        datasets: Task name -> that task's data set: a config (built with mmengine's
            ``DATASETS.build``; a ``_scope_='mmdet'`` key builds the data set and its
            pipeline in mmdet's scope) or a data set. Each data set's pipeline must end with
            a Pack transform (``PackSegInputs``, ``PackDetInputs``, ...).
        lazy_init: Whether to defer loading the annotations to the first use (as mmengine's
            ``ConcatDataset``).

    Raises:
        ValueError: If ``datasets`` is empty, or a task's data set has no samples.
        TypeError: If a value is neither a config dict nor a data set.
    """

    def __init__(self, datasets: dict[str, dict | BaseDataset], lazy_init: bool = False):
        if not isinstance(datasets, dict) or not datasets:
            raise ValueError('MultiTaskDataset needs a dict of task name -> data set config, '
                             f'e.g. datasets=dict(depth=dict(type="NYUDataset", ...)); '
                             f'got {datasets!r}')
        self.datasets: dict[str, Dataset] = {}
        for task, dataset in datasets.items():
            if isinstance(dataset, dict):
                try:
                    dataset = DATASETS.build(dataset)
                except ValueError as error:
                    if _EMPTY_ERROR not in str(error):
                        raise
                    raise _no_samples(task, dataset.get('data_root')) from error
            elif not isinstance(dataset, Dataset):
                raise TypeError(f'the data set of task {task!r} must be a config dict or a '
                                f'data set, got {type(dataset).__name__}')
            self.datasets[task] = dataset
        self._cumulative_sizes: list[int] = []
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        """Load each data set's annotations (its ``full_init``) and check none is empty."""
        if self._fully_initialized:
            return
        sizes = []
        for task, dataset in self.datasets.items():
            try:
                if hasattr(dataset, 'full_init'):
                    dataset.full_init()
                size = len(dataset)
            except ValueError as error:
                if _EMPTY_ERROR not in str(error):
                    raise
                size = 0
            if size == 0:
                raise _no_samples(task, getattr(dataset, 'data_root', None))
            sizes.append(size)
        self._cumulative_sizes = list(itertools.accumulate(sizes))
        self._fully_initialized = True

    @property
    def tasks(self) -> tuple[str, ...]:
        """The task names, in index order."""
        return tuple(self.datasets)

    @property
    def cumulative_sizes(self) -> list[int]:
        """The end index (exclusive) of each task's samples, in task order."""
        self.full_init()
        return list(self._cumulative_sizes)

    @property
    def metainfo(self) -> dict:
        """``dict(tasks={task: metainfo}, task_sizes={task: len}, task_order=tasks)``."""
        self.full_init()
        return dict(
            tasks={t: copy.deepcopy(getattr(d, 'metainfo', {})) for t, d in self.datasets.items()},
            task_sizes={t: len(d) for t, d in self.datasets.items()},
            task_order=self.tasks)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def _locate(self, idx: int) -> tuple[str, int]:
        """The (task, index in the task's data set) of a global index."""
        size = len(self)
        if not -size <= idx < size:
            raise IndexError(f'index {idx} is out of range for the MultiTaskDataset of '
                             f'{size} samples (tasks {dict(self.metainfo["task_sizes"])})')
        idx = idx % size
        position = bisect.bisect_right(self._cumulative_sizes, idx)
        start = self._cumulative_sizes[position - 1] if position else 0
        return self.tasks[position], idx - start

    def task_of(self, idx: int) -> str:
        """The task name of global index ``idx``."""
        return self._locate(idx)[0]

    def get_data_info(self, idx: int) -> dict:
        """The annotation of global index ``idx`` (before the pipeline), with its ``task``."""
        task, local = self._locate(idx)
        return dict(self.datasets[task].get_data_info(local), task=task)

    def __getitem__(self, idx: int) -> dict:
        task, local = self._locate(idx)
        data = self.datasets[task][local]
        samples = data.get('data_samples') if isinstance(data, dict) else None
        if not isinstance(samples, BaseDataElement):
            raise TypeError(f'sample {local} of task {task!r} has no packed "data_samples" '
                            f'(got {type(samples).__name__}): end the pipeline of the task\'s '
                            'data set with a Pack transform, e.g. PackSegInputs')
        samples.set_metainfo(dict(task=task))
        return data

    def __repr__(self) -> str:
        sizes = ', '.join(
            f'{t}: {type(d).__name__}' + (f' ({len(d)})' if self._fully_initialized else '')
            for t, d in self.datasets.items())
        return f'{type(self).__name__}({sizes})'


@DATA_SAMPLERS.register_module()
class MultiTaskSampler(Sampler):
    """An infinite training sampler drawing a task by its weight, then one of its samples.

    Each index first draws a task with probability proportional to its weight, then a
    uniformly random sample of that task. A task's share of the training samples is thus
    set by its weight, whatever the size of its data set. As mmengine's ``InfiniteSampler``,
    every rank takes every ``world_size``-th index of one stream seeded alike on all ranks.

    Example:
        Panoptic segmentation sampled twice as often as each other task (Fan et al.,
        Sec. 4.1)::

            sampler=dict(type='MultiTaskSampler', task_weights=dict(panoptic=2.0))

    Args:
        dataset: The :class:`MultiTaskDataset`.
        task_weights: Task name -> relative weight; tasks not named weigh 1.0.
        seed: Random seed, the same on all ranks; a random one synced across ranks if None.

    Raises:
        TypeError: If ``dataset`` is not a :class:`MultiTaskDataset`.
        ValueError: If ``task_weights`` names a task the data set lacks, or a weight is not
            positive.
    """

    #: Indices drawn at once, for speed (the stream depends on it: keep it fixed)
    _CHUNK = 4096

    def __init__(self, dataset: MultiTaskDataset, task_weights: dict[str, float] | None = None,
                 seed: int | None = None):
        if not isinstance(dataset, MultiTaskDataset):
            raise TypeError('MultiTaskSampler samples a MultiTaskDataset (its tasks), got '
                            f'{type(dataset).__name__}: use type="MultiTaskDataset" as the '
                            'dataloader\'s dataset, or another sampler')
        task_weights = dict(task_weights or {})
        unknown = sorted(set(task_weights) - set(dataset.tasks))
        if unknown:
            raise ValueError(f'task_weights names tasks {unknown} that the data set lacks; '
                             f'its tasks are {list(dataset.tasks)}')
        weights = [float(task_weights.get(task, 1.0)) for task in dataset.tasks]
        bad = {t: w for t, w in zip(dataset.tasks, weights) if not w > 0}
        if bad:
            raise ValueError(f'task weights must be positive, got {bad}')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.task_weights = dict(zip(dataset.tasks, weights))
        self.seed = sync_random_seed() if seed is None else seed
        ends = torch.tensor(dataset.cumulative_sizes)
        self._starts = torch.cat([ends.new_zeros(1), ends[:-1]])
        self._sizes = ends - self._starts
        self._weights = torch.tensor(weights, dtype=torch.float64)

    def _infinite_indices(self) -> Iterator[int]:
        """The stream of indices shared by all ranks."""
        generator = torch.Generator().manual_seed(self.seed)
        while True:
            tasks = torch.multinomial(self._weights, self._CHUNK, replacement=True,
                                      generator=generator)
            uniform = torch.rand(self._CHUNK, generator=generator, dtype=torch.float64)
            sizes = self._sizes[tasks]
            local = torch.minimum((uniform * sizes).long(), sizes - 1)
            yield from (self._starts[tasks] + local).tolist()

    def __iter__(self) -> Iterator[int]:
        """This rank's share of the stream: every ``world_size``-th index from ``rank``."""
        yield from itertools.islice(self._infinite_indices(), self.rank, None, self.world_size)

    def __len__(self) -> int:
        """The length of the data set (as mmengine's ``InfiniteSampler``)."""
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Not used: the stream is infinite (as in mmengine's ``InfiniteSampler``)."""
