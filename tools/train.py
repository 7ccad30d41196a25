"""Train a model with mmengine's Runner: ``python tools/train.py CONFIG [options]``."""
import argparse
import os

from mmengine.config import DictAction
from mmengine.runner import Runner

from mmgeneralist.utils.checks import check_data_roots
from mmgeneralist.utils.launch import load_tool_config


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or with no value from the latest checkpoint '
        'in the work dir')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = load_tool_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit('--amp uses mmengine\'s AmpOptimWrapper (fp16 with loss scaling), '
                             'which needs a GPU; this machine has none. Drop --amp on the CPU.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    try:  # missing data or weights: say what to do, without a traceback
        check_data_roots(cfg)
        runner = Runner.from_cfg(cfg)
    except FileNotFoundError as err:
        raise SystemExit(f'error: {err}') from None
    runner.train()


if __name__ == '__main__':
    main()
