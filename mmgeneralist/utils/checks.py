"""Checks run before a Runner is built, so that bad paths fail before training starts."""
from __future__ import annotations

import os.path as osp
from collections.abc import Iterator

from ..datasets.synthetic.formats import FORMATS

GENERATOR = 'python tools/dataset_converters/generate_synthetic.py --out {root}'


def leaf_dataset_cfgs(dataset_cfg) -> Iterator:
    """Yield the leaf dataset configs of (possibly wrapped) dataset configs.

    Args:
        dataset_cfg: a dataset config, a list of them, or a wrapper's config with
            ``dataset`` (``RepeatDataset``...) or ``datasets`` (a list: ``ConcatDataset``; a
            task name -> config dict: ``MultiTaskDataset``).
    """
    if dataset_cfg is None:
        return
    if isinstance(dataset_cfg, (list, tuple)):
        for item in dataset_cfg:
            yield from leaf_dataset_cfgs(item)
        return
    if 'type' not in dataset_cfg and all(isinstance(v, dict) for v in dataset_cfg.values()):
        yield from leaf_dataset_cfgs(list(dataset_cfg.values()))  # task name -> data set
        return
    for wrapped in ('dataset', 'datasets'):
        if wrapped in dataset_cfg:
            yield from leaf_dataset_cfgs(dataset_cfg[wrapped])
            return
    yield dataset_cfg


def check_data_roots(cfg) -> None:
    """Raise ``FileNotFoundError`` naming each missing ``data_root`` and how to make it.

    Looks at the train, val and test dataloaders that the config defines.
    """
    missing = []
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(split)
        if not loader:
            continue
        for ds in leaf_dataset_cfgs(loader.get('dataset')):
            root = ds.get('data_root')
            if root and not osp.isdir(root) and root not in missing:
                missing.append(root)
    if not missing:
        return
    hints = []
    for root in missing:
        if 'synthetic' in root:
            # data/synthetic/ade -> data/synthetic
            base = osp.dirname(root.rstrip('/')) if osp.basename(
                root.rstrip('/')) in FORMATS else root
            hints.append(f'  {root}: generate it with `{GENERATOR.format(root=base)}`')
        else:
            hints.append(f'  {root}: download the data set there (see the config folder\'s '
                         'README), or point data_root at your copy with --cfg-options')
    raise FileNotFoundError('data root(s) not found:\n' + '\n'.join(hints))
