"""The depth error that the depth colour coding alone imposes: the RMSE floor of a perfect
generator.

    python tools/analysis_tools/depth_coding_cost.py CONFIG [--task depth] [--split val] \
        [--bits 8 10 12 none] [--min-depth 0] [--max-depth 10] [--target-size H W] \
        [--out work_dirs/benchmarks/depth_coding_cost.json] [--cfg-options k=v ...]

Builds the config's depth data set (``--task`` of a multi-task config's
``MultiTaskDataset``, e.g. ``val_dataloader.dataset.datasets.depth``; or a plain config's
``NYUDataset``), reads each sample's ``gt_depth_map`` through the config's own pipeline,
renders it with ``QuantizedDepthCodec(min_depth, max_depth, bits=b)`` and decodes it back,
and scores the decoded map against the original with mmseg's ``DepthMetric`` under the
config's depth-metric settings (by default ``min_depth_eval=1e-3, max_depth_eval=10,
crop_type=None``). ``bits none`` is the codec without discretisation (only clamping to
``[min_depth, max_depth]``). Prints a table (bits, rmse, abs_rel, ...) and writes all
metrics to ``--out`` as JSON.

``--target-size H W`` adds rows with the resampling the pixel generalist does as well: the
ground truth is resized (nearest) to the target size before encoding, and the decoded
target resized back (bilinear) to the original size, as ``PixelDiffusionGeneralist`` does.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import os.path as osp
import sys
from collections.abc import Sequence

DEFAULT_BITS = ('8', '10', '12', 'none')
#: The depth metric's settings when the config names none (the tiny configs' own).
DEFAULT_METRIC = dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0,
                      crop_type=None)
TABLE = ('rmse', 'abs_rel', 'd1', 'rmse_log')


def parse_bits(value: str) -> int | None:
    if value.lower() in ('none', 'float', 'inf'):
        return None
    try:
        bits = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'bits must be 1..16 or "none"; got {value!r}') \
            from None
    if not 1 <= bits <= 16:
        raise argparse.ArgumentTypeError(f'bits must be 1..16 or "none"; got {value!r}')
    return bits


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from mmgeneralist.utils.cli import add_common_args, parse_tool_args
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--task', default=None,
                        help='the depth task of a multi-task config (default: the one task '
                        'whose data set loads depth)')
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='val',
                        help='which dataloader\'s data set (default val)')
    parser.add_argument('--bits', nargs='+', type=parse_bits,
                        default=[parse_bits(b) for b in DEFAULT_BITS],
                        help='codec bit depths; "none" for no discretisation '
                        '(default: 8 10 12 none)')
    parser.add_argument('--min-depth', type=float, default=0.0,
                        help='depth rendered -1, metres (default 0)')
    parser.add_argument('--max-depth', type=float, default=10.0,
                        help='depth rendered +1, metres (default 10)')
    parser.add_argument('--target-size', type=int, nargs=2, default=None, metavar=('H', 'W'),
                        help='also measure with the generalist\'s resampling to this size')
    parser.add_argument('--out', default='work_dirs/benchmarks/depth_coding_cost.json',
                        help='the JSON file to write')
    add_common_args(parser, work_dir=False, launcher=False)
    return parse_tool_args(parser, argv)


def _loads_depth(dataset_cfg) -> bool:
    pipeline = dataset_cfg.get('pipeline') or []
    return dataset_cfg.get('type') in ('NYUDataset', 'mmseg.NYUDataset') or any(
        isinstance(t, dict) and t.get('type') in ('LoadDepthAnnotation',
                                                  'mmseg.LoadDepthAnnotation')
        for t in pipeline)


def depth_dataset_cfg(cfg, split: str, task: str | None) -> tuple[dict, dict, str | None]:
    """The depth data set's config, its metric's config and the task name (or ``None``).

    Raises:
        ValueError: the split has no data set, the task is unknown, or no (single) depth
            data set is found.
    """
    loader = cfg.get(f'{split}_dataloader')
    if not loader or not loader.get('dataset'):
        raise ValueError(f'the config has no {split}_dataloader.dataset')
    dataset = loader['dataset']
    evaluator = cfg.get(f'{split}_evaluator') or cfg.get('val_evaluator') or {}
    datasets = dataset.get('datasets')
    if isinstance(datasets, dict):  # a MultiTaskDataset: task name -> data set
        if task is None:
            depth_tasks = [t for t, d in datasets.items() if _loads_depth(d)]
            if len(depth_tasks) != 1:
                raise ValueError(f'{split}_dataloader.dataset has tasks {list(datasets)}, '
                                 f'{len(depth_tasks)} of them depth ({depth_tasks}): choose '
                                 'one with --task')
            task = depth_tasks[0]
        if task not in datasets:
            raise ValueError(f'--task {task!r} is not one of {split}_dataloader.dataset\'s '
                             f'tasks {list(datasets)}')
        dataset = datasets[task]
        metrics = evaluator.get('metrics', {}) if isinstance(evaluator, dict) else {}
        metric = metrics.get(task) if isinstance(metrics, dict) else None
    else:
        if task is not None:
            raise ValueError(f'--task {task!r}: {split}_dataloader.dataset is not a '
                             'MultiTaskDataset (it has no task data sets)')
        for wrapped in ('dataset', 'datasets'):  # RepeatDataset & co.: unwrap one level
            if isinstance(dataset.get(wrapped), dict):
                dataset = dataset[wrapped]
        evaluators = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
        metric = next((e for e in evaluators if isinstance(e, dict) and
                       str(e.get('type', '')).endswith('DepthMetric')), None)
    if not _loads_depth(dataset):
        raise ValueError(f'the {split} data set ({dataset.get("type")}) loads no depth: '
                         'give a config whose data set is a NYUDataset (or loads '
                         'LoadDepthAnnotation), or the depth task with --task')
    if not metric or not str(metric.get('type', '')).endswith('DepthMetric'):
        metric = DEFAULT_METRIC
    return copy.deepcopy(dataset), dict(copy.deepcopy(metric), type='DepthMetric'), task


def round_trip(codec, gt, target_size=None):
    """``gt`` ``(H, W)`` metric depth -> encoded and decoded, ``(H, W)``; with
    ``target_size``, resampled as the pixel generalist does (nearest down, bilinear up)."""
    import torch.nn.functional as F
    depth = gt.float()[None, None]
    if target_size is not None:
        depth = F.interpolate(depth, tuple(target_size), mode='nearest')
    decoded = codec.decode(codec.encode(depth))
    if target_size is not None:
        decoded = F.interpolate(decoded.float(), tuple(gt.shape[-2:]), mode='bilinear',
                                align_corners=False)
    return decoded[0, 0]


def format_table(rows: list[dict]) -> str:
    head = ['bits', 'resampled'] + list(TABLE)
    lines = [[str(r['bits']), r['resampled'] or 'no'] +
             [f'{r["metrics"][k]:.5f}' for k in TABLE] for r in rows]
    width = [max(len(c) for c in col) for col in zip(head, *lines)]
    return '\n'.join('  '.join(c.ljust(w) if i < 2 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, width)))
                     for row in [head] + lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import DATASETS, METRICS, init_default_scope
    from tqdm import tqdm

    from mmgeneralist.codecs import QuantizedDepthCodec
    from mmgeneralist.utils.checks import check_data_roots
    from mmgeneralist.utils.cli import report_errors
    from mmgeneralist.utils.launch import load_tool_config

    # a missing config or data root, a config without depth data: one line
    with report_errors():
        cfg = load_tool_config(args.config, args.cfg_options, 'none', work_dir=None)
        dataset_cfg, metric_cfg, task = depth_dataset_cfg(cfg, args.split, args.task)
        check_data_roots(Config(dict(val_dataloader=dict(dataset=dataset_cfg))))
        codecs = {b: QuantizedDepthCodec(args.min_depth, args.max_depth, bits=b)
                  for b in args.bits}
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        dataset = DATASETS.build(dataset_cfg)
        if len(dataset) == 0:
            raise ValueError(f'the depth data set (data_root={dataset_cfg.get("data_root")!r})'
                             ' has no samples: check its data_root and data_prefix')
        sizes = [None] + ([tuple(args.target_size)] if args.target_size else [])
        metrics = {(b, s): METRICS.build(copy.deepcopy(metric_cfg))
                   for s in sizes for b in args.bits}

    for i in tqdm(range(len(dataset)), desc='depth coding', leave=False):
        sample = dataset[i]['data_samples']
        if 'gt_depth_map' not in sample:
            raise ValueError(f'sample {i} has no gt_depth_map: the pipeline must load it '
                             '(LoadDepthAnnotation)')
        gt = sample.gt_depth_map.data.squeeze()
        for (bits, size), metric in metrics.items():
            pred = round_trip(codecs[bits], gt, size)
            metric.process({}, [dict(pred_depth_map=dict(data=pred[None]),
                                     gt_depth_map=dict(data=gt[None]))])

    rows = []
    for (bits, size), metric in metrics.items():
        values = metric.evaluate(len(dataset))
        rows.append(dict(bits='none' if bits is None else bits,
                         resampled=None if size is None else f'{size[0]}x{size[1]}',
                         metrics={k: float(v) for k, v in values.items()}))
    where = dataset_cfg.get('data_root', '?') + (f' (task {task})' if task else '')
    print(f'\ndepth colour coding, QuantizedDepthCodec({args.min_depth:g}, '
          f'{args.max_depth:g}), on {len(dataset)} {args.split} samples of {where}; '
          f'DepthMetric({", ".join(f"{k}={v}" for k, v in metric_cfg.items() if k != "type")}):')
    print(format_table(rows))
    result = dict(config=args.config, task=task, split=args.split,
                  data_root=dataset_cfg.get('data_root'), num_samples=len(dataset),
                  min_depth=args.min_depth, max_depth=args.max_depth, metric=metric_cfg,
                  rows=rows)
    if osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2, default=str)
    print(f'written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
