"""Train a model with mmengine's Runner: ``python tools/train.py CONFIG [options]``.

A config that sets ``runner_type`` (e.g. ``'FlexibleRunner'`` with an FSDP ``strategy``,
``configs/_base_/fsdp.py``) is built by mmengine's ``RUNNERS`` registry instead.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmgeneralist.utils.checkpoint import check_resume_checkpoint, use_atomic_checkpoints
from mmgeneralist.utils.checks import check_data_roots
from mmgeneralist.utils.cli import add_common_args, parse_tool_args, report_errors
from mmgeneralist.utils.launch import enable_amp, load_tool_config


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or with no value from the latest checkpoint '
        'in the work dir')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision')
    add_common_args(parser)
    return parse_tool_args(parser, argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    # a missing config, data root, weights folder or a bad checkpoint: one line, no traceback
    with report_errors():
        cfg = load_tool_config(args.config, args.cfg_options, args.launcher, args.work_dir)
        if args.amp:
            enable_amp(cfg)
        if args.resume is not None:
            explicit = None if args.resume == 'auto' else args.resume
            check_resume_checkpoint(cfg.work_dir, explicit)  # loads, or says which one does
            cfg.resume = True
            # None: mmengine resumes from work_dir/last_checkpoint, or starts anew without it
            cfg.load_from = explicit
        use_atomic_checkpoints(cfg)
        check_data_roots(cfg)
        runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
