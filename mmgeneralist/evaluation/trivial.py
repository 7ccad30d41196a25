"""Trivial predictors measured with the same upstream metric as the model.

A trained model is only worth its mIoU next to what a constant predictor scores on the same
validation set; tests and the quick-start print both.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from mmengine.registry import DATASETS, METRICS, init_default_scope
from tqdm import tqdm


def _build_dataset(cfg, loader_key: str):
    dataset_cfg = copy.deepcopy(cfg[loader_key]['dataset'])
    return DATASETS.build(dataset_cfg)


def _gt_maps(dataset, desc: str):
    for i in tqdm(range(len(dataset)), desc=desc, leave=False):
        sample = dataset[i]['data_samples']
        yield sample.gt_sem_seg.data.squeeze(0)


def majority_class(cfg, loader_key: str = 'train_dataloader') -> int:
    """The most frequent labelled class (ignore index 255 excluded) of a split."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = _build_dataset(cfg, loader_key)
    counts = np.zeros(256, dtype=np.int64)
    for gt in _gt_maps(dataset, 'class frequencies'):
        counts += np.bincount(gt.numpy().ravel(), minlength=256)[:256]
    counts[255] = 0
    return int(counts.argmax())


def constant_predictor_metrics(cfg, label: int | None = None,
                               loader_key: str = 'val_dataloader') -> dict:
    """Evaluate "every pixel is ``label``" (default: the training majority class).

    Uses the config's own evaluator (e.g. mmseg's ``IoUMetric``) on the config's own
    validation dataset, so the numbers are comparable with the model's.
    """
    if label is None:
        label = majority_class(cfg)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = _build_dataset(cfg, loader_key)
    evaluator_cfg = cfg[loader_key.replace('dataloader', 'evaluator')]
    metric = METRICS.build(copy.deepcopy(evaluator_cfg))
    metric.dataset_meta = dataset.metainfo
    for gt in _gt_maps(dataset, 'constant predictor'):
        pred = torch.full_like(gt, label)
        metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]),
                                 gt_sem_seg=dict(data=gt[None]))])
    return metric.evaluate(len(dataset))
