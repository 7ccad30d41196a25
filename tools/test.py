"""Evaluate a checkpoint with mmengine's Runner: ``python tools/test.py CONFIG CHECKPOINT``."""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.runner import Runner

from mmgeneralist.utils.checks import check_data_roots
from mmgeneralist.utils.launch import load_tool_config
from mmgeneralist.utils.visualization import enable_visualization


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--out', help='dump the predictions to this pickle file')
    parser.add_argument('--show-dir', help='directory to save the painted predictions')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds between images')
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
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint file not found: {args.checkpoint}')
    cfg = load_tool_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args.show_dir, args.show, args.wait_time)
    if args.out is not None:
        cfg.test_evaluator = cfg.test_evaluator if isinstance(
            cfg.test_evaluator, list) else [cfg.test_evaluator]
        cfg.test_evaluator.append(dict(type='DumpResults', out_file_path=args.out))
    try:  # missing data or weights: say what to do, without a traceback
        check_data_roots(cfg)
        runner = Runner.from_cfg(cfg)
    except FileNotFoundError as err:
        raise SystemExit(f'error: {err}') from None
    runner.test()


if __name__ == '__main__':
    main()
