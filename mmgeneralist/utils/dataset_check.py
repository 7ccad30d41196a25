"""Check a config's data before training: files decode, sizes match, labels lie in range.

``tools/analysis_tools/check_dataset.py CONFIG`` prints :func:`format_report` of
:func:`check_config_data`. Each split's dataset is built from the config (mmseg's own
dataset class, so ``data_prefix``, suffixes, ``reduce_zero_label`` and the class subset's
``label_map`` are the ones training uses) and every sample is checked:

- every file (``img_path``, ``seg_map_path``, ``depth_map_path``) exists, is not cut short
  (JPEG / PNG end markers) and decodes completely with Pillow;
- the pipeline's own loading transforms (``LoadImageFromFile``, ``LoadAnnotations``,
  ``LoadDepthAnnotation``, also inside ``SkipBadSamples``) load it;
- the label map has the image's height and width;
- segmentation: every label, after the label map, is a class index (``0 .. K-1``) or the
  dataset's ``ignore_index``; depth: every value is finite and non-negative.

Checked so far: mmseg's ``BaseSegDataset`` family (ADE20K-format segmentation and
NYU-format depth among them). Other dataset types (mmdet's RefCOCO or COCO, mmpose's) are
listed as not checked.
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass, field

import numpy as np

from .checks import leaf_dataset_cfgs
from .safe_loading import sample_paths, truncation_problem

SPLITS = ('train', 'val', 'test')


@dataclass
class SplitReport:
    """What was found in one data set of one (or several identical) splits."""

    splits: list[str]
    dataset_type: str
    data_root: str
    samples: int = 0
    bad_samples: int = 0
    checked: bool = True
    note: str = ''
    bad: list[tuple[str, str]] = field(default_factory=list)  # (file, problem)


def _decode_problem(path: str) -> str | None:
    """Whether the whole file decodes with Pillow (which refuses truncated data)."""
    from PIL import Image
    problem = truncation_problem(path)
    if problem is not None:
        return problem
    try:
        with Image.open(path) as img:
            img.load()
    except Exception as err:  # noqa: BLE001  (Pillow fails in many ways)
        message = str(err).replace(f"'{path}'", '').replace(path, '').rstrip(' :')
        return f'does not decode: {type(err).__name__}: {message}'
    return None


def _loading_transforms(pipeline: list) -> list:
    """The leading loaders of a pipeline config, unwrapped from ``SkipBadSamples``."""
    loaders = []
    for step in pipeline or []:
        kind = step.get('type') if isinstance(step, dict) else type(step).__name__
        if kind == 'SkipBadSamples':
            loaders.extend(step['transforms'])
        elif isinstance(kind, str) and kind.startswith('Load'):
            loaders.append(step)
        else:
            break
    return loaders


def _label_problem(results: dict, num_classes: int, ignore_index: int) -> str | None:
    img = results.get('img')
    for key in ('gt_seg_map', 'gt_depth_map'):
        label = results.get(key)
        if label is None:
            continue
        if img is not None and tuple(label.shape[:2]) != tuple(img.shape[:2]):
            return (f'{key} is {label.shape[1]}x{label.shape[0]} but the image is '
                    f'{img.shape[1]}x{img.shape[0]} (width x height)')
        if key == 'gt_seg_map':
            values = np.unique(label)
            wrong = values[(values >= num_classes) & (values != ignore_index) | (values < 0)]
            if wrong.size:
                return (f'label values {wrong.tolist()[:10]} are neither a class index '
                        f'(0..{num_classes - 1}) nor the ignore index {ignore_index} (after '
                        'the dataset\'s label map)')
        else:
            finite = np.isfinite(label)
            if not finite.all():
                return f'{int((~finite).sum())} depth values are not finite (NaN or inf)'
            if (label < 0).any():
                return f'{int((label < 0).sum())} depth values are negative (min {label.min()})'
    return None


def check_dataset(dataset_cfg: dict, splits: list[str]) -> SplitReport:
    """Check every sample of one dataset config (see the module docstring).

    The config's default scope must be set (``init_default_scope``) so that its dataset
    type and transforms are found in their codebase's registries.

    Args:
        dataset_cfg: a leaf dataset config (``type``, ``data_root``, ``pipeline``...).
        splits: the splits it serves, for the report.

    Returns:
        The report of this dataset.
    """
    from mmengine.registry import DATASETS, TRANSFORMS
    from mmseg.datasets import BaseSegDataset
    dataset_type = dataset_cfg.get('type')
    type_name = dataset_type if isinstance(dataset_type, str) else dataset_type.__name__
    report = SplitReport(splits, type_name, str(dataset_cfg.get('data_root', '')))
    if isinstance(dataset_type, str):  # as build() does: in the default scope's registry
        with DATASETS.switch_scope_and_registry(None) as registry:
            cls = registry.get(dataset_type)
    else:
        cls = dataset_type
    if cls is None or not issubclass(cls, BaseSegDataset):
        report.checked = False
        report.note = ('not checked: check_dataset checks mmseg segmentation and depth '
                       f'datasets (BaseSegDataset) so far, not {type_name}')
        return report
    cfg = dict(dataset_cfg)
    pipeline = cfg.pop('pipeline', [])
    dataset = DATASETS.build(dict(cfg, pipeline=[]))
    loaders = [TRANSFORMS.build(t) for t in _loading_transforms(pipeline)]
    num_classes = len(dataset.metainfo.get('classes') or ())
    ignore_index = getattr(dataset, 'ignore_index', 255)
    report.samples = len(dataset)
    for idx in range(len(dataset)):
        results = dataset.get_data_info(idx)
        paths = list(sample_paths(results).values())
        problems = _sample_problems(results, paths, loaders, num_classes, ignore_index)
        report.bad.extend(problems)
        report.bad_samples += bool(problems)
    return report


def _sample_problems(results: dict, paths: list[str], loaders: list, num_classes: int,
                     ignore_index: int) -> list[tuple[str, str]]:
    problems = [(p, problem) for p in paths if (problem := _decode_problem(p))]
    if problems:
        return problems
    for loader in loaders:
        try:
            results = loader(results)
        except Exception as err:  # noqa: BLE001
            return [(paths[0], f'the pipeline\'s {type(loader).__name__} fails: '
                               f'{type(err).__name__}: {err}')]
    is_depth = 'depth_map_path' in results
    problem = _label_problem(results, 0 if is_depth else num_classes, ignore_index)
    if problem is None:
        return []
    label_path = results.get('depth_map_path' if is_depth else 'seg_map_path')
    return [(label_path or paths[0], problem)]


def check_config_data(cfg) -> list[SplitReport]:
    """Check the data of every split the config defines (train, val, test).

    Splits that use the same dataset config are checked once.

    Args:
        cfg: the mmengine config.

    Raises:
        FileNotFoundError: a data root does not exist (see ``check_data_roots``).
    """
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    from .checks import check_data_roots
    check_data_roots(cfg)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    groups: list[tuple[dict, list[str]]] = []
    for split in SPLITS:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        for ds in leaf_dataset_cfgs(loader.get('dataset')):
            ds = ds.to_dict() if hasattr(ds, 'to_dict') else dict(ds)
            for known, names in groups:
                if known == ds:
                    names.append(split)
                    break
            else:
                groups.append((ds, [split]))
    return [check_dataset(ds, names) for ds, names in groups]


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def format_report(reports: list[SplitReport]) -> str:
    """The reports as readable tables: samples per split, then each bad file and why."""
    rows = [['split', 'dataset', 'data root', 'samples', 'bad']]
    for r in reports:
        rows.append([', '.join(r.splits), r.dataset_type, r.data_root,
                     str(r.samples) if r.checked else '-',
                     str(r.bad_samples) if r.checked else '-'])
    if any(r.note for r in reports):
        rows[0].append('note')
        for row, r in zip(rows[1:], reports):
            row.append(r.note)
    text = _table(rows)
    bad = [[', '.join(r.splits), osp.relpath(f, r.data_root) if r.data_root and
            f.startswith(r.data_root) else f, problem] for r in reports for f, problem in r.bad]
    if bad:
        text += '\n\nbad files (paths relative to the data root):\n' + _table(
            [['split', 'file', 'problem'], *bad])
    elif not any(r.checked for r in reports):
        text += '\n\nnothing checked: see the note'
    else:
        text += '\n\nno bad files found' + (
            ' in the checked data sets' if any(not r.checked for r in reports) else '')
    return text
