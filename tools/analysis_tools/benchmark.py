"""Speed, memory and FLOPs of a config's model, its variants measured against a baseline.

    python tools/analysis_tools/benchmark.py CONFIG [--modes train infer sample ...]
        [--variants base bf16 explicit ...] [--batch-sizes 1 8] [--sizes 512 480x640]
        [--steps 10 50] [--warmup 1] [--repeat 3] [--weights random|pretrained]
        [--device cuda] [--threads N] [--out work_dirs/benchmarks/NAME.json]

The model is built once from the config: by default at its real architecture (SD-1.5 /
SD-2.1 widths) with random weights, so no checkpoint is needed; ``--weights pretrained``
loads the folders the config names (a tiny config always does). Each variant (``+``-joined
switches: bf16, explicit, nomaps, channels_last, checkpointing, compile, lora, encode_each,
vae_bf16; the first variant is the baseline) runs on a copy of that model with the same
inputs, for every mode, batch size, image size and (sampling) step count. Prints a
Markdown table and writes every figure, the machine and the reference rate to ``--out``. See
:mod:`mmgeneralist.utils.benchmark` for what each mode and switch measures, and
docs/benchmarks.md for the comparisons and their command lines.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
import tempfile
from collections.abc import Sequence

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)


def parse_size(text: str) -> tuple[int, int]:
    """``'512'`` -> ``(512, 512)``; ``'480x640'`` -> ``(480, 640)`` (height x width)."""
    try:
        parts = [int(p) for p in text.lower().split('x')]
    except ValueError:
        raise argparse.ArgumentTypeError(f'size {text!r}: expected N or HxW') from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f'size {text!r}: expected N or HxW')
    return tuple(parts)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from mmgeneralist.utils.benchmark import MODES
    from mmgeneralist.utils.cli import add_common_args, parse_tool_args
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--modes', nargs='+', default=['infer'], choices=MODES)
    parser.add_argument('--variants', nargs='+', default=['base'],
                        help='the first is the baseline; e.g. base bf16 bf16+checkpointing')
    parser.add_argument('--batch-sizes', nargs='+', type=int, default=[1])
    parser.add_argument('--sizes', nargs='+', type=parse_size,
                        help='image sizes, N or HxW (default: the config\'s crop size)')
    parser.add_argument('--steps', nargs='+', type=int, default=[50],
                        help='sampling steps (the "sample" mode)')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--no-flops', action='store_true', help='skip the FLOP count')
    parser.add_argument('--weights', choices=['random', 'pretrained'], default='random')
    parser.add_argument('--device', help='default: cuda when available, else cpu')
    parser.add_argument('--threads', type=int, help='torch intra-op threads on the CPU')
    parser.add_argument('--out', help='the JSON file (default work_dirs/benchmarks/'
                        '<config name>.json)')
    add_common_args(parser, work_dir=False, launcher=False)
    args = parse_tool_args(parser, argv)
    if args.warmup < 0 or args.repeat < 1:
        parser.error('--warmup must be >= 0 and --repeat >= 1')
    return args


def build(cfg, weights: str, device, folder_root: str):
    """The config's model at its architecture (random weights) or with its own weights."""
    from mmgeneralist.diffusion import ARCHITECTURES, save_architecture
    from mmgeneralist.utils.random_models import architecture_of, build_model, loader_cfgs
    arch = architecture_of(cfg.model, strict=False)  # None: a folder of its own
    if weights == 'pretrained' or arch not in ARCHITECTURES:
        folders = {c['pretrained'] for c in loader_cfgs(cfg.model)}
        folder = folders.pop()
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'the config loads its weights from {folder!r}, which does not exist: '
                + ('make the tiny folder with `python tools/model_converters/'
                   'make_tiny_diffusion.py`' if arch == 'tiny' else
                   'download them, or benchmark random weights (--weights random)'))
        return build_model(cfg, folder, device, random=False), arch or 'its own'

    folder = save_architecture(arch, osp.join(folder_root, arch))
    return build_model(cfg, folder, device, random=True), arch


def _mib(n: int | None) -> str:
    return f'{n / 2**20:,.0f}' if n else '-'


def table(rows: list[dict], device_type: str) -> str:
    """The rows as a Markdown table."""
    memory = 'peak GPU MiB' if device_type == 'cuda' else 'RSS added MiB'
    head = ['mode', 'batch', 'input', 'steps', 'variant', 'median s', 'min-max s', 'img/s',
            memory, 'GFLOP/img', 'TFLOP/s', '% of ref', 'speed x', 'memory x', 'output err']
    training = any(r.get('trainable_params') for r in rows)
    if training:
        head += ['trainable M', 'optimizer MiB']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for r in rows:
        if r.get('error'):
            cells = [r['mode'], r['batch'], f'{r["size"][0]}x{r["size"][1]}', r['steps'] or '-',
                     r['variant'], f'failed: {r["error"]}'] + [''] * (len(head) - 6)
        else:
            mem = r['peak_memory']
            size = r['input_size'] or r['size']
            cells = [
                r['mode'], r['batch'], f'{size[0]}x{size[1]}', r['steps'] or '-',
                r['variant'], f'{r["median_s"]:.4g}', f'{r["min_s"]:.3g}-{r["max_s"]:.3g}',
                f'{r["images_per_s"]:.3g}', _mib(mem),
                f'{r["flops_per_image"] / 1e9:,.1f}' if r.get('flops_per_image') else '-',
                f'{r["achieved_flops_per_s"] / 1e12:.3g}' if r.get('achieved_flops_per_s')
                else '-',
                f'{100 * r["share_of_reference"]:.1f}' if r.get('share_of_reference') else '-',
                f'{r["speedup_vs_base"]:.2f}' if r.get('speedup_vs_base') else '-',
                f'{r["memory_vs_base"]:.2f}' if r.get('memory_vs_base') else '-',
                f'{r["output_error"]:.1e}' if r.get('output_error') is not None else '-'
            ]
        if training and not r.get('error'):
            cells += [f'{r["trainable_params"] / 1e6:,.1f}' if r.get('trainable_params') else '-',
                      _mib(r.get('optimizer_state_bytes'))]
        lines.append('| ' + ' | '.join(str(c) for c in cells) + ' |')
    return '\n'.join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from mmengine.config import Config

    from mmgeneralist.utils.benchmark import (
        as_dicts,
        machine_info,
        parse_variant,
        reference_rate,
        run_benchmark,
    )
    from mmgeneralist.utils.cli import report_errors
    if args.threads:
        torch.set_num_threads(args.threads)
    with report_errors():
        for spec in args.variants:
            parse_variant(spec)
        device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        if device.type == 'cuda' and not torch.cuda.is_available():
            raise RuntimeError('--device cuda: no GPU is visible to torch')
        if not osp.isfile(args.config):
            raise FileNotFoundError(f'no config file {args.config!r}')
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        crop = cfg.get('crop_size') or cfg.get('img_scale')
        sizes = args.sizes or ([tuple(int(c) for c in crop)] if crop else None)
        if not sizes:
            raise ValueError('the config states no crop_size or img_scale: pass --sizes')
        import mmgeneralist  # noqa: F401  (registers the modules)
        with tempfile.TemporaryDirectory() as tmp:
            model, arch = build(cfg, args.weights, device, tmp)
    name = osp.splitext(osp.basename(args.config))[0]
    print(f'{name}: {type(model).__name__}, {arch} architecture, '
          f'{"random" if args.weights == "random" and arch in ("sd15", "sd21") else "its own"}'
          ' weights, '
          f'on {device}', flush=True)
    machine = machine_info(device)
    reference = reference_rate(device)
    print(f'reference: {reference["kind"]}: {reference["flops_per_s"] / 1e12:.3g} TFLOP/s',
          flush=True)
    rows = run_benchmark(model, device, args.variants, args.modes, args.batch_sizes, sizes,
                         args.steps, args.warmup, args.repeat, not args.no_flops,
                         log=lambda m: print(m, file=sys.stderr, flush=True))
    dicts = as_dicts(rows, reference['flops_per_s'])
    print(table(dicts, device.type))
    out = args.out or osp.join('work_dirs', 'benchmarks', f'{name}.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(dict(config=args.config, model=type(model).__name__, architecture=arch,
                       weights=args.weights, machine=machine, reference=reference,
                       rows=dicts), f, indent=1)
    print(f'wrote {out}')
    return 1 if any(r.get('error') for r in dicts) else 0


if __name__ == '__main__':
    sys.exit(main())
