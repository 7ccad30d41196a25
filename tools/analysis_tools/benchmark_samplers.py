"""Time and score one checkpoint of a diffusion model under several samplers.

    python tools/analysis_tools/benchmark_samplers.py CONFIG CHECKPOINT \
        [--samplers DDIMScheduler:50 DPMSolverMultistepScheduler:10 ...] \
        [--threads 1] [--out work_dirs/benchmarks/samplers.json] [--cfg-options k=v ...]

One runner is built and the checkpoint loaded once; for each ``NAME:STEPS`` the model's
sampler is replaced, as the model builds its own (``model.build_sampler(dict(type=NAME))``,
so it shares the training noise schedule), ``num_inference_steps`` set to ``STEPS``, and
``runner.test()`` run and timed (wall clock, the whole test split, metrics included). Prints
a table (sampler, steps, wall seconds, the main metrics) and writes all metrics, the
timings, the thread count and the machine to ``--out`` as JSON.

The model must have ``test_scheduler``, ``noise_scheduler``, ``num_inference_steps`` and
``build_sampler``: the pixel generalist (:class:`~mmgeneralist.models.PixelDiffusionGeneralist`)
and the InstructDiffusion editor (:class:`~mmgeneralist.models.InstructionEditor`). A sampler
that fails is reported (with its traceback) and the others still run; the exit status is
then 1.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import platform
import sys
import time
import traceback
from collections.abc import Sequence

DEFAULT_SAMPLERS = ('DDIMScheduler:50', 'DPMSolverMultistepScheduler:10',
                    'DPMSolverMultistepScheduler:20')
#: The metrics printed in the table: keys whose last ``/`` part is one of these.
TABLE_METRICS = ('mIoU', 'rmse', 'PQ', 'AP', 'PCK', 'cIoU', 'PSNR', 'SSIM')
#: What the sampler is asked for on top of the training schedule (as the model does).
SCHEDULE_KEYS = ('clip_sample', 'clip_sample_range', 'timestep_spacing', 'steps_offset',
                 'prediction_type', 'thresholding', 'sample_max_value')


def parse_sampler(spec: str) -> tuple[str, int | None]:
    """``'DDIMScheduler:50'`` -> ``('DDIMScheduler', 50)``; no ``:STEPS``: the config's."""
    name, _, steps = spec.partition(':')
    if not name:
        raise ValueError(f'sampler {spec!r}: expected NAME:STEPS, e.g. DDIMScheduler:50')
    if not steps:
        return name, None
    try:
        n = int(steps)
    except ValueError:
        raise ValueError(f'sampler {spec!r}: STEPS must be a whole number') from None
    if n < 1:
        raise ValueError(f'sampler {spec!r}: STEPS must be >= 1')
    return name, n


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from mmgeneralist.utils.cli import add_common_args, parse_tool_args
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--samplers', nargs='+', default=list(DEFAULT_SAMPLERS),
                        metavar='NAME:STEPS',
                        help='diffusers scheduler class names and step counts '
                        f'(default: {" ".join(DEFAULT_SAMPLERS)})')
    parser.add_argument('--out', default='work_dirs/benchmarks/samplers.json',
                        help='the JSON file to write')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch intra-op threads (default 1, for comparable timings)')
    add_common_args(parser, launcher=False)
    args = parse_tool_args(parser, argv)
    if args.threads < 1:
        parser.error(f'--threads must be >= 1; got {args.threads}')
    return args


def sampler_for(model, name: str):
    """The sampler ``name`` built as the model builds its ``test_scheduler``."""
    return model.build_sampler(dict(type=name))


def init_keys(scheduler) -> list[str]:
    """The options the scheduler's class takes (its config also keeps those it ignored)."""
    import inspect
    return [k for k in inspect.signature(type(scheduler).__init__).parameters
            if k not in ('self', 'kwargs')]


def schedule_notes(name: str, scheduler, signal_scale: float) -> list[str]:
    """Where the built sampler does not clip as asked (the option is ignored or absent)."""
    notes = []
    config = scheduler.config
    asked = dict(clip_sample=True, clip_sample_range=signal_scale)
    absent = [k for k in asked if k not in init_keys(scheduler)]
    if absent:
        notes.append(f'{name} has no {" / ".join(absent)} option: its samples are not '
                     f'clipped to +-{signal_scale:g} while sampling')
    for key in asked:
        if key not in absent and config.get(key) != asked[key]:
            notes.append(f'{name}: {key}={config[key]!r}, asked {asked[key]!r}')
    return notes


def table_metrics(metrics: dict) -> dict:
    """The metrics of :data:`TABLE_METRICS`, in that order, as floats."""
    keys = [k for m in TABLE_METRICS for k in metrics if k.rsplit('/', 1)[-1] == m]
    return {k: float(metrics[k]) for k in keys}


def machine_info(threads: int) -> dict:
    import diffusers
    import torch
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    info = dict(processor=platform.processor() or platform.machine(),
                machine=platform.machine(), platform=platform.platform(),
                cpu_count=os.cpu_count(), usable_cores=cores, torch_threads=threads,
                python=platform.python_version(), torch=torch.__version__,
                diffusers=diffusers.__version__, cuda=torch.cuda.is_available())
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name()
    return info


def format_table(rows: list[dict]) -> str:
    keys = list(dict.fromkeys(k for r in rows for k in table_metrics(r.get('metrics', {}))))
    head = ['sampler', 'steps', 'wall s', 's/sample'] + keys
    lines = []
    for r in rows:
        values = table_metrics(r.get('metrics', {}))
        cells = [r['sampler'], str(r['steps']),
                 f'{r["wall_s"]:.1f}' if r.get('wall_s') is not None else '-',
                 f'{r["s_per_sample"]:.3f}' if r.get('s_per_sample') is not None else '-']
        cells += [f'{values[k]:.4f}' if k in values else '-' for k in keys]
        if r.get('error'):
            cells.append(f'FAILED: {r["error"]}')
        lines.append(cells)
    width = [max(len(str(c)) for c in col) for col in zip(head, *[row[:len(head)]
                                                                    for row in lines])]
    out = ['  '.join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in
                     enumerate(zip(head, width)))]
    for row in lines:
        out.append('  '.join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                             enumerate(zip(row, width))) + ''.join('  ' + c for c in
                                                                   row[len(head):]))
    return '\n'.join(out)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner

    from mmgeneralist.utils.checks import check_data_roots
    from mmgeneralist.utils.cli import report_errors
    from mmgeneralist.utils.launch import load_tool_config

    torch.set_num_threads(args.threads)
    # a missing config, data root, weights folder or checkpoint, an unknown sampler: one line
    with report_errors():
        samplers = [parse_sampler(s) for s in args.samplers]
        if not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')
        cfg = load_tool_config(args.config, args.cfg_options, 'none', args.work_dir or osp.join(
            osp.dirname(args.checkpoint) or '.', 'benchmark_samplers'))
        check_data_roots(cfg)
        cfg.load_from = args.checkpoint
        runner = Runner.from_cfg(cfg)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        missing = [a for a in ('test_scheduler', 'noise_scheduler', 'num_inference_steps',
                               'build_sampler') if not hasattr(model, a)]
        if missing:
            raise ValueError(f'{type(model).__name__} has no {", ".join(missing)}: this tool '
                             'benchmarks the samplers of a diffusion model such as '
                             'PixelDiffusionGeneralist or InstructionEditor')
        # unknown scheduler names fail here, before any test run
        built = [(name, steps, sampler_for(model, name))
                 for name, steps in samplers]
        runner.load_or_resume()       # loaded once, outside the timings
        test_loop = runner.test_loop  # data set and evaluator built once, outside them too
    num_samples = len(test_loop.dataloader.dataset)
    threads = torch.get_num_threads()
    default_steps = model.num_inference_steps

    rows = []
    for name, steps, scheduler in built:
        steps = steps or default_steps
        model.test_scheduler = scheduler
        model.num_inference_steps = steps
        row = dict(sampler=name, steps=steps,
                   scheduler_config={k: scheduler.config.get(k) for k in init_keys(scheduler)},
                   # the generalist clips its x0 estimates to +-signal_scale; the editor's
                   # latents are not bounded
                   notes=schedule_notes(name, scheduler, model.signal_scale)
                   if hasattr(model, 'signal_scale') else [])
        print(f'\n=== {name}, {steps} steps, {threads} thread(s), {num_samples} samples ===',
              flush=True)
        start = time.perf_counter()
        try:
            metrics = runner.test()
        except Exception as err:  # noqa: BLE001  (a sampler that fails; the others run)
            traceback.print_exc()
            row.update(wall_s=None, s_per_sample=None, metrics={},
                       error=f'{type(err).__name__}: {err}'.splitlines()[0])
        else:
            wall = time.perf_counter() - start
            row.update(wall_s=wall, s_per_sample=wall / max(num_samples, 1),
                       metrics={k: float(v) for k, v in metrics.items()})
        rows.append(row)

    print(f'\nsamplers on {platform.processor() or platform.machine()}, '
          f'{threads} torch thread(s), {num_samples} test samples:')
    print(format_table(rows))
    for note in dict.fromkeys(n for r in rows for n in r['notes']):
        print(f'note: {note}')
    result = dict(config=args.config, checkpoint=args.checkpoint,
                  num_test_samples=num_samples, torch_threads=threads,
                  machine=machine_info(threads), samplers=rows)
    if osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2, default=str)
    print(f'written to {args.out}')
    return 1 if any(r.get('error') for r in rows) else 0


if __name__ == '__main__':
    sys.exit(main())
