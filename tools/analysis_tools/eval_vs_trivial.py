"""Evaluate a checkpoint and a constant predictor with the config's own metric, side by side.

    python tools/analysis_tools/eval_vs_trivial.py CONFIG CHECKPOINT [--show-dir DIR] [--json F]
        [--cfg-options k=v ...]
"""
import argparse
import json
import os.path as osp

from mmengine.config import DictAction
from mmengine.runner import Runner

from mmgeneralist.evaluation import (
    constant_predictor_metrics,
    is_depth_config,
    majority_class,
    mean_depth,
)
from mmgeneralist.utils.checks import check_data_roots
from mmgeneralist.utils.launch import load_tool_config
from mmgeneralist.utils.visualization import enable_visualization


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--show-dir', default=None,
                        help='also save painted predictions (image | prediction) here')
    parser.add_argument('--json', default=None, help='write both results to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, xxx=yyy format')
    args = parser.parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    cfg = load_tool_config(args.config, args.cfg_options, 'none', args.work_dir or osp.join(
        osp.dirname(args.checkpoint), 'eval_vs_trivial'))
    check_data_roots(cfg)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    model = Runner.from_cfg(cfg).test()
    if is_depth_config(cfg):
        label = mean_depth(cfg)
        label_name = f'mean depth {label:.3f}'
    else:
        label = majority_class(cfg)
        names = cfg.train_dataloader.dataset.get('metainfo', {}).get('classes')
        label_name = names[label] if names else label
    trivial = constant_predictor_metrics(cfg, label)
    print(f'\n{"predictor":<34} ' + ' '.join(f'{k:>8}' for k in model))
    print(f'{"trained model":<34} ' + ' '.join(f'{v:8.4g}' for v in model.values()))
    print(f'{"constant: " + str(label_name):<34} ' +
          ' '.join(f'{trivial.get(k, float("nan")):8.4g}' for k in model))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(model={k: float(v) for k, v in model.items()},
                           trivial={k: float(v) for k, v in trivial.items()},
                           trivial_label=label, trivial_class=str(label_name)), f, indent=2)


if __name__ == '__main__':
    main()
