"""Training on a data set with a few unreadable files: log them, skip them, bound their share.

mmcv's ``LoadImageFromFile`` stops the run with an ``AssertionError`` when an image does not
decode, and mmseg's annotation loaders with an ``AttributeError`` on ``None``; a truncated
JPEG may even decode silently into a half-grey image. :class:`SkipBadSamples` wraps the
loading transforms of a *training* pipeline: a sample whose files are truncated or do not
load is logged (with its paths, once, as a warning on mmengine's current logger) and the
wrapper returns ``None``, on which mmengine's ``BaseDataset.__getitem__`` draws another
index (its ``max_refetch`` mechanism). Once more than ``max_bad_fraction`` of the samples
loaded so far are bad, it raises a ``RuntimeError`` listing them.

Use it in training pipelines only: in ``test_mode`` mmengine's datasets refuse ``None``,
and an evaluation should see every sample (check the data with
``tools/analysis_tools/check_dataset.py`` instead).
"""
from __future__ import annotations

import logging
import os.path as osp

from mmcv.transforms import BaseTransform, Compose
from mmengine.logging import print_log

from ..registry import register

#: How a complete file of each format ends: (format, extensions, end marker, bytes to search).
#: JPEG ends with the EOI marker FF D9 (some writers append a few bytes after it; FF D9
#: cannot occur inside entropy-coded data); PNG with its IEND chunk (``IEND`` + CRC).
_TRAILERS = (
    ('JPEG', ('.jpg', '.jpeg', '.jpe', '.jfif'), b'\xff\xd9', 4096),
    ('PNG', ('.png', ), b'IEND\xaeB`\x82', 64),
)


def truncation_problem(path: str) -> str | None:
    """Whether a local JPEG or PNG file is cut short (or empty, or missing).

    Looks only at the end of the file, so it is cheap enough to run on every sample.
    Other formats and remote paths (``s3://...``) are not checked (``None``).

    Args:
        path: the image or annotation file.

    Returns:
        The problem in a few words, or ``None``.
    """
    if '://' in path:
        return None
    if not osp.isfile(path):
        return 'file not found'
    size = osp.getsize(path)
    if size == 0:
        return 'empty file (0 bytes)'
    ext = osp.splitext(path)[1].lower()
    for kind, extensions, marker, window in _TRAILERS:
        if ext in extensions:
            with open(path, 'rb') as f:
                f.seek(max(0, size - window))
                tail = f.read()
            if marker not in tail:
                return f'truncated {kind} ({size} bytes, no end marker)'
    return None


def sample_paths(results: dict) -> dict[str, str]:
    """The file paths of a sample (``img_path``, ``seg_map_path``, ``depth_map_path``...)."""
    return {k: v for k, v in results.items() if k.endswith('_path') and isinstance(v, str)}


@register('transforms')
class SkipBadSamples(BaseTransform):
    """Run loading transforms; skip (and log) a sample whose files do not load.

    Example, the ADE20K training pipeline with its two loaders wrapped::

        train_pipeline = [
            dict(type='SkipBadSamples', transforms=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', reduce_zero_label=True)]),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ]

    The share of bad samples is counted among the distinct samples this process has tried
    (each data-loader worker counts its own): the run stops once more than
    ``max_bad_fraction`` of them are bad, checked from ``min_samples`` tried samples on.

    Args:
        transforms: the loading transforms (configs or objects), run in order.
        max_bad_fraction: the largest tolerated share of bad samples, in [0, 1).
        min_samples: the distinct samples to try before the share is checked (a share
            estimated from a handful of samples would stop runs by chance).
        check_truncation: also check that each JPEG / PNG file of the sample ends with its
            format's end marker (:func:`truncation_problem`), which catches truncated JPEGs
            that OpenCV would decode into a partly grey image without an error.

    Raises:
        RuntimeError: (when called) more than ``max_bad_fraction`` of the samples are bad.
    """

    def __init__(self, transforms: list, max_bad_fraction: float = 0.01, min_samples: int = 100,
                 check_truncation: bool = True) -> None:
        if not 0 <= max_bad_fraction < 1:
            raise ValueError(f'max_bad_fraction must lie in [0, 1), got {max_bad_fraction}')
        if min_samples < 1:
            raise ValueError(f'min_samples must be at least 1, got {min_samples}')
        self.transforms = Compose(transforms)
        self.max_bad_fraction = max_bad_fraction
        self.min_samples = min_samples
        self.check_truncation = check_truncation
        self.seen: set = set()
        self.bad: dict = {}  # sample key -> reason

    def _problem(self, results: dict) -> tuple[str | None, dict | None]:
        paths = sample_paths(results)
        if self.check_truncation:
            for path in paths.values():
                problem = truncation_problem(path)
                if problem is not None:
                    return f'{path}: {problem}', None
        for transform in self.transforms.transforms:
            try:
                results = transform(results)
            except Exception as err:  # noqa: BLE001  (the loaders fail in many ways)
                where = ', '.join(f'{k}={v}' for k, v in paths.items())
                return f'{type(transform).__name__} failed ({where}): {err!r}', None
            if results is None:  # a loader's own skip (e.g. ignore_empty): pass it on
                return None, None
        return None, results

    def transform(self, results: dict) -> dict | None:
        """Load the sample, or log it and return ``None`` so that mmengine draws another."""
        key = results.get('img_path', results.get('sample_idx'))
        self.seen.add(key)
        problem, loaded = self._problem(results)
        if problem is None:
            return loaded
        if key not in self.bad:
            self.bad[key] = problem
            print_log(f'skipping a sample that does not load: {problem}', logger='current',
                      level=logging.WARNING)
        self._check_share()
        return None

    def _check_share(self) -> None:
        tried, bad = len(self.seen), len(self.bad)
        if tried < self.min_samples or bad <= self.max_bad_fraction * tried:
            return
        listing = '\n'.join(f'  {reason}' for reason in list(self.bad.values())[:20])
        more = f'\n  ... and {bad - 20} more' if bad > 20 else ''
        raise RuntimeError(
            f'{bad} of the {tried} samples loaded so far do not load, more than '
            f'max_bad_fraction={self.max_bad_fraction} of them:\n{listing}{more}\n'
            'Fix or remove these files (tools/analysis_tools/check_dataset.py CONFIG lists '
            "them all), or raise SkipBadSamples' max_bad_fraction in the pipeline.")

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(transforms={self.transforms!r}, '
                f'max_bad_fraction={self.max_bad_fraction}, min_samples={self.min_samples}, '
                f'check_truncation={self.check_truncation})')
