"""Trivial predictors measured with the same upstream metric as the model.

A trained model is only worth its mIoU (or RMSE) next to what a constant predictor scores on
the same validation set: the training majority class for segmentation, the training mean
depth for depth. Tests and the quick-start print both.
"""
from __future__ import annotations

import copy

import mmcv
import numpy as np
import torch
from mmengine.registry import DATASETS, METRICS, init_default_scope
from mmengine.structures import PixelData
from tqdm import tqdm


def _build_dataset(cfg, loader_key: str):
    dataset_cfg = copy.deepcopy(cfg[loader_key]['dataset'])
    return DATASETS.build(dataset_cfg)


def is_depth_config(cfg) -> bool:
    """Whether the config's model predicts depth (mmseg's ``DepthEstimator``)."""
    return cfg.model.get('type') == 'DepthEstimator'


def _gt_maps(dataset, desc: str, field: str = 'gt_sem_seg'):
    for i in tqdm(range(len(dataset)), desc=desc, leave=False):
        sample = dataset[i]['data_samples']
        yield sample.get(field).data.squeeze(0)


def majority_class(cfg, loader_key: str = 'train_dataloader') -> int:
    """The most frequent labelled class (ignore index 255 excluded) of a split."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = _build_dataset(cfg, loader_key)
    counts = np.zeros(256, dtype=np.int64)
    for gt in _gt_maps(dataset, 'class frequencies'):
        counts += np.bincount(gt.numpy().ravel(), minlength=256)[:256]
    counts[255] = 0
    return int(counts.argmax())


def mean_depth(cfg, loader_key: str = 'train_dataloader') -> float:
    """The mean of the valid (positive) ground-truth depth of a split."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = _build_dataset(cfg, loader_key)
    total, count = 0.0, 0
    for gt in _gt_maps(dataset, 'mean depth', 'gt_depth_map'):
        valid = gt > 0
        total, count = total + float(gt[valid].double().sum()), count + int(valid.sum())
    if count == 0:
        raise ValueError(f'{loader_key} has no valid (positive) depth')
    return total / count


def constant_predictor_metrics(cfg, label: int | float | None = None,
                               loader_key: str = 'val_dataloader') -> dict:
    """Evaluate "every pixel is ``label``": a class, or a depth for a depth config.

    ``None`` picks the training majority class, or the training mean depth. Uses the
    config's own evaluator (e.g. mmseg's ``IoUMetric`` or ``DepthMetric``) on the config's
    own validation dataset, so the numbers are comparable with the model's.
    """
    depth = is_depth_config(cfg)
    if label is None:
        label = mean_depth(cfg) if depth else majority_class(cfg)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = _build_dataset(cfg, loader_key)
    evaluator_cfg = cfg[loader_key.replace('dataloader', 'evaluator')]
    metric = METRICS.build(copy.deepcopy(evaluator_cfg))
    metric.dataset_meta = dataset.metainfo
    field = 'depth_map' if depth else 'sem_seg'
    for gt in _gt_maps(dataset, 'constant predictor', f'gt_{field}'):
        pred = torch.full_like(gt, label, dtype=torch.float32 if depth else gt.dtype)
        metric.process({}, [{f'pred_{field}': dict(data=pred[None]),
                             f'gt_{field}': dict(data=gt[None])}])
    return metric.evaluate(len(dataset))


def compare_with_trivial(cfg, checkpoint: str | None = None, runner=None) -> dict:
    """The model and the constant predictor, scored by the config's test evaluator.

    What ``tools/analysis_tools/eval_vs_trivial.py`` prints and the learning tests assert:
    the model's metrics (mmengine's ``Runner.test``) and the constant predictor's on the same
    split: the training majority class, or the training mean depth for a depth config.

    Args:
        cfg: the loaded config (its work dir receives the test logs).
        checkpoint: the weights to evaluate, for a runner built here.
        runner: a runner already built from ``cfg`` with its ``load_from`` (the tools build
            it where they report set-up errors); ``None``: build one for ``checkpoint``.

    Returns:
        ``dict(model=..., trivial=..., trivial_label=..., trivial_name=...)``, the metrics
        as floats.
    """
    if runner is None:
        from mmengine.runner import Runner
        if checkpoint is None:
            raise ValueError('give the checkpoint to evaluate, or a runner that loads it')
        cfg = copy.deepcopy(cfg)
        cfg.load_from = checkpoint
        runner = Runner.from_cfg(cfg)
    model = runner.test()
    if is_depth_config(cfg):
        label = mean_depth(cfg)
        name = f'mean depth {label:.3f}'
    else:
        label = majority_class(cfg)
        names = cfg.train_dataloader.dataset.get('metainfo', {}).get('classes')
        name = str(names[label]) if names else str(label)
    trivial = constant_predictor_metrics(cfg, label)
    return dict(model={k: float(v) for k, v in model.items()},
                trivial={k: float(v) for k, v in trivial.items()},
                trivial_label=label, trivial_name=name)


def multi_task_trivial_metrics(cfg, stuff_class: str = 'floor',
                               loader_key: str = 'val_dataloader') -> dict:
    """Each task's trivial predictor, scored by the config's multi-task evaluator.

    For a config whose data set is a :class:`~mmgeneralist.datasets.MultiTaskDataset` and
    whose model is the pixel generalist: each task's trivial prediction follows from the
    ground-truth field its codec renders (``model.tasks[task].codec``):

    * ``gt_sem_seg``: the training majority class of that task's data set (mIoU);
    * ``gt_depth_map``: the training mean depth (RMSE);
    * a panoptic task: every pixel the stuff class ``stuff_class`` (PQ);
    * ``gt_image``: the corrupted input itself (PSNR, SSIM).

    Returns:
        The evaluator's metrics (``task/key``), as floats, and ``trivial_labels``: what each
        task predicted.
    """
    from mmengine.registry import EVALUATOR

    from ..registry import build_codec
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    tasks = cfg.model.tasks
    train = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    val = DATASETS.build(copy.deepcopy(cfg[loader_key].dataset))
    evaluator = EVALUATOR.build(copy.deepcopy(cfg[loader_key.replace('dataloader',
                                                                       'evaluator')]))
    evaluator.dataset_meta = val.metainfo
    labels = {}
    for task, spec in tasks.items():
        field = build_codec(spec['codec']).label_field
        task_train = train.datasets[task]
        if 'instance_codec' in spec:
            meta = val.metainfo['tasks'][task]
            if stuff_class not in meta.get('stuff_classes', ()):
                raise ValueError(f'stuff_class={stuff_class!r} is not a stuff class of task '
                                 f'{task!r}: choose one of {list(meta.get("stuff_classes", ()))}')
            labels[task] = meta['classes'].index(stuff_class)
        elif field == 'gt_sem_seg':
            counts = np.zeros(256, dtype=np.int64)
            for gt in _gt_maps(task_train, f'{task}: class frequencies'):
                counts += np.bincount(gt.numpy().ravel(), minlength=256)[:256]
            counts[255] = 0
            labels[task] = int(counts.argmax())
        elif field == 'gt_depth_map':
            total, count = 0.0, 0
            for gt in _gt_maps(task_train, f'{task}: mean depth', 'gt_depth_map'):
                total, count = total + float(gt[gt > 0].double().sum()), count + int(
                    (gt > 0).sum())
            labels[task] = total / max(count, 1)
        else:
            labels[task] = 'input image'
    for i in tqdm(range(len(val)), desc='trivial predictors', leave=False):
        data = val[i]
        sample, task = data['data_samples'], data['data_samples'].task
        height, width = sample.ori_shape[:2]
        spec = tasks[task]
        if 'instance_codec' in spec:
            sample.pred_panoptic_seg = PixelData(
                sem_seg=torch.full((1, height, width), labels[task], dtype=torch.long))
        elif labels[task] == 'input image':  # the corrupted input as read from its file
            image = mmcv.imread(sample.img_path, channel_order='rgb')
            sample.pred_image = PixelData(data=torch.from_numpy(image).permute(2, 0, 1).float())
        elif isinstance(labels[task], float):
            sample.pred_depth_map = PixelData(data=torch.full((1, height, width), labels[task]))
        else:
            sample.pred_sem_seg = PixelData(
                data=torch.full((1, height, width), labels[task], dtype=torch.long))
        evaluator.process([sample], dict(inputs=[data['inputs']], data_samples=[sample]))
    metrics = evaluator.evaluate(len(val))
    return dict({k: float(v) for k, v in metrics.items()}, trivial_labels=labels)
