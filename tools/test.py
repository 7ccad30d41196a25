"""Evaluate a checkpoint with mmengine's Runner: ``python tools/test.py CONFIG CHECKPOINT``."""
from __future__ import annotations

import argparse
import os.path as osp
from collections.abc import Sequence

from mmengine.runner import Runner

from mmgeneralist.utils.checks import check_data_roots
from mmgeneralist.utils.cli import add_common_args, parse_tool_args, report_errors
from mmgeneralist.utils.launch import load_tool_config
from mmgeneralist.utils.visualization import enable_visualization


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the predictions to this pickle file')
    parser.add_argument('--show-dir', help='directory to save the painted predictions')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds between images')
    add_common_args(parser)
    return parse_tool_args(parser, argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    # a missing config, data root, weights folder or checkpoint: one line, no traceback
    with report_errors():
        if not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')
        cfg = load_tool_config(args.config, args.cfg_options, args.launcher, args.work_dir)
        cfg.load_from = args.checkpoint
        if args.show or args.show_dir:
            enable_visualization(cfg, args.show_dir, args.show, args.wait_time)
        if args.out is not None:
            cfg.test_evaluator = cfg.test_evaluator if isinstance(
                cfg.test_evaluator, list) else [cfg.test_evaluator]
            cfg.test_evaluator.append(dict(type='DumpResults', out_file_path=args.out))
        check_data_roots(cfg)
        runner = Runner.from_cfg(cfg)
    runner.test()


if __name__ == '__main__':
    main()
