"""Time PainterClassCodec's per-channel decoder against the brute-force nearest colour.

    python tools/analysis_tools/benchmark_codebook_decode.py [--size 512] [--num-classes 150]
        [--repeats 10] [--threads 1] [--device cpu] [--out work_dirs/benchmarks/...json]

The prediction is realistic: the codebook colours of a random blocky label map, plus
Gaussian noise (``--noise`` times the margin) and a share of uniformly random pixels
(``--uniform``). Both decoders run on it in the same process; their outputs must be
identical.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import statistics
import time
from collections.abc import Sequence

import torch

from mmgeneralist.codecs import PainterClassCodec


def prediction(codec: PainterClassCodec, size: int, noise: float, uniform: float,
               device: str) -> torch.Tensor:
    """A ``(1, 3, size, size)`` noisy colour map in [-1, 1]."""
    blocks = torch.randint(0, codec.num_classes, (1, 1, max(size // 32, 1), max(size // 32, 1)))
    label = torch.nn.functional.interpolate(blocks.float(), size=(size, size))[:, 0].long()
    rgb = codec.encode(label.to(device))
    rgb = rgb + torch.randn_like(rgb) * noise * codec.margin / 127.5
    random = torch.rand(1, 1, size, size, device=device) < uniform
    return torch.where(random, torch.rand_like(rgb) * 2 - 1, rgb)


def median_ms(fn, x: torch.Tensor, repeats: int) -> float:
    fn(x)  # warm-up
    times = []
    for _ in range(repeats):
        if x.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn(x)
        if x.is_cuda:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--size', type=int, default=512, help='image side in pixels')
    parser.add_argument('--num-classes', type=int, default=150)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    parser.add_argument('--noise', type=float, default=0.1, help='noise sigma / margin')
    parser.add_argument('--uniform', type=float, default=0.02,
                        help='share of uniformly random pixels')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='work_dirs/benchmarks/codebook_decode.json')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    codec = PainterClassCodec(args.num_classes, ignore_index=-1)
    rgb = prediction(codec, args.size, args.noise, args.uniform, args.device)
    fast, brute = codec.decode(rgb), codec.decode_brute_force(rgb)
    if not torch.equal(fast, brute):
        raise AssertionError(f'decoders differ at {(fast != brute).sum().item()} pixels')
    times = {'brute_force': median_ms(codec.decode_brute_force, rgb, args.repeats),
             'per_channel': median_ms(codec.decode, rgb, args.repeats)}
    base = times['brute_force']
    print(f'{args.size}x{args.size}, {args.num_classes} classes (b={codec.base}, '
          f'm={codec.margin}), {args.device}, {args.threads} thread(s), median of '
          f'{args.repeats}; outputs identical')
    print(f'{"method":<12} {"median ms":>10} {"speed-up":>9}')
    for name, ms in times.items():
        print(f'{name:<12} {ms:>10.2f} {base / ms:>8.1f}x')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(vars(args), base=codec.base, margin=codec.margin, identical=True,
                       median_ms=times, speed_up=base / times['per_channel']), f, indent=2)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
