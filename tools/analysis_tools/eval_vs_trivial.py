"""Evaluate a checkpoint and a constant predictor with the config's own metric, side by side.

    python tools/analysis_tools/eval_vs_trivial.py CONFIG CHECKPOINT [--show-dir DIR] [--json F]
        [--cfg-options k=v ...]

With ``--show-dir`` every test image is painted (input | ground truth | prediction, by the
config's visualizer) and ``DIR/summary.png`` holds a dozen of them under the metric table.
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
from collections.abc import Sequence

from mmengine.runner import Runner

from mmgeneralist.evaluation import compare_with_trivial
from mmgeneralist.utils.checks import check_data_roots
from mmgeneralist.utils.cli import add_common_args, parse_tool_args, report_errors
from mmgeneralist.utils.launch import load_tool_config
from mmgeneralist.utils.visualization import enable_visualization
from mmgeneralist.visualization import write_summary


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--show-dir', default=None,
                        help='also save painted predictions (input | ground truth | prediction) '
                        'here, and DIR/summary.png: a dozen of them under the metric table')
    parser.add_argument('--json', default=None, help='write both results to this JSON file')
    add_common_args(parser, launcher=False)
    args = parse_tool_args(parser, argv)
    # a missing config, data root, weights folder or checkpoint: one line, no traceback
    with report_errors():
        if not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')
        cfg = load_tool_config(args.config, args.cfg_options, 'none', args.work_dir or osp.join(
            osp.dirname(args.checkpoint), 'eval_vs_trivial'))
        check_data_roots(cfg)
        cfg.load_from = args.checkpoint
        if args.show_dir:
            enable_visualization(cfg, args.show_dir)
        runner = Runner.from_cfg(cfg)
    result = compare_with_trivial(cfg, runner=runner)
    model, trivial = result['model'], result['trivial']
    print(f'\n{"predictor":<34} ' + ' '.join(f'{k:>8}' for k in model))
    print(f'{"trained model":<34} ' + ' '.join(f'{v:8.4g}' for v in model.values()))
    print(f'{"constant: " + result["trivial_name"]:<34} ' +
          ' '.join(f'{trivial.get(k, float("nan")):8.4g}' for k in model))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    if args.show_dir:
        lines = [f'{args.config}: {args.checkpoint}',
                 'trained model: ' + ', '.join(f'{k} {v:.4g}' for k, v in model.items()),
                 f'constant predictor ({result["trivial_name"]}): ' +
                 ', '.join(f'{k} {trivial.get(k, float("nan")):.4g}' for k in model)]
        summary = write_summary(args.show_dir, lines)
        if summary:
            print(f'summary of the painted predictions: {summary}')


if __name__ == '__main__':
    main()
