"""Speed, memory and FLOPs of a model's steps, against a baseline measured in the same run.

:func:`run_benchmark` is what ``tools/analysis_tools/benchmark.py`` calls. A run is one
model, built once (random weights at its real architecture, or its own folder), and a list
of *variants* (the first is the baseline) measured over a grid of *modes*, batch sizes,
image sizes and, for sampling, step counts. Each variant runs on a deep copy of the same
model, so every variant has the same weights and inputs; its first output is compared with
the baseline's.

Modes:
    ``train``: the model's tensor-mode forward (backbone, neck and head; one denoising call
        of a generative model), the backward of its outputs' mean, one AdamW step;
    ``infer``: the same forward without gradients (a generative model: one denoising call);
    ``sample``: a generative model's whole sampler over ``steps`` steps, the VAE decode or
        the conditioning encoder included;
    ``backbone``: the backbone alone (VPD / GenPercept models);
    ``encode``: the frozen VAE encoder alone (with ``infer``: the VAE's share of the cost).

Variants are ``+``-joined switches (``'base'`` is none of them):
    ``bf16``: ``torch.autocast`` in bfloat16 around the step;
    ``explicit``: diffusers' explicit ``AttnProcessor`` (matmul + softmax) in every
        attention layer instead of the fused SDPA one (how VPD's released code computes it);
    ``nomaps``: no cross-attention map capture (``backbone`` mode of a VPD model);
    ``channels_last``: model and inputs in channels-last memory format;
    ``checkpointing``: the UNet's activation checkpointing (diffusers');
    ``compile``: ``torch.compile`` of the UNet;
    ``lora``: rank-8 LoRA adapters instead of the UNet's weights (the model's own
        ``lora_train_also`` parts stay trainable; :mod:`mmgeneralist.diffusion.lora`);
    ``vae_bf16``: the frozen VAE encoder's weights and its run in bfloat16, the rest in
        float32 (a diffusion backbone's ``vae_dtype='bfloat16'``; VPD and GenPercept).

In the ``train`` mode a row also holds the trainable parameters and the bytes of the
optimizer's state after the steps.

Each measurement: ``warmup`` untimed calls, then ``repeat`` timed calls (the device
synchronised around each); median, min and max seconds; peak memory (GPU:
``torch.cuda.max_memory_allocated``, the model's weights included; CPU: how far the calls
raised the process's resident set above where it stood after the model was placed, sampled
every 2 ms; the allocator keeps freed memory, so the first call's peak is the one seen);
FLOPs of one call by :class:`torch.utils.flop_counter.FlopCounterMode` (of the baseline,
so that recomputation by checkpointing counts as cost, not as work) and the achieved rate
as a share of the reference: on a GPU its dense bf16 peak (:data:`PEAK_BF16`, by name), on
the CPU a large fp32 matrix product timed in the same run.
"""
from __future__ import annotations

import copy
import datetime
import itertools
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import torch

MODES = ('train', 'infer', 'sample', 'backbone', 'encode')
SWITCHES = ('bf16', 'explicit', 'nomaps', 'channels_last', 'checkpointing', 'compile', 'lora',
            'encode_each', 'vae_bf16')
#: dense bf16 tensor-core peaks (FLOP/s) by device name, from the vendors' data sheets;
#: the first name contained in ``torch.cuda.get_device_name()`` wins
PEAK_BF16 = (('H100 PCIe', 756e12), ('H100 NVL', 835e12), ('H100', 989e12), ('H200', 989e12),
             ('GH200', 989e12), ('A100', 312e12), ('L40S', 362e12), ('L4', 121e12))


def parse_variant(spec: str) -> tuple[str, ...]:
    """``'bf16+checkpointing'`` -> ``('bf16', 'checkpointing')``; ``'base'`` -> ``()``."""
    parts = tuple(p for p in spec.split('+') if p and p != 'base')
    unknown = [p for p in parts if p not in SWITCHES]
    if unknown:
        raise ValueError(f'variant {spec!r}: unknown switch(es) {unknown}; the switches are '
                         f'{list(SWITCHES)} joined by "+", or "base"')
    return parts


# ---------------------------------------------------------------------- measuring
def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def release_freed_memory() -> None:
    """Hand memory that is free in the C heap back to the system (glibc's ``malloc_trim``),
    so that the next measurement's resident-set growth is seen; a no-op elsewhere."""
    import ctypes
    import gc
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


class PeakMemory:
    """Peak memory inside a ``with`` block: GPU allocations, or the CPU's resident set."""

    def __init__(self, device: torch.device, interval: float = 0.002):
        self.device, self.interval = device, interval
        self.peak = self.start = 0
        self._stop = threading.Event()
        self._thread = None

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            time.sleep(self.interval)

    def __enter__(self):
        if self.device.type == 'cuda':
            synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
        elif os.path.exists('/proc/self/statm'):
            release_freed_memory()
            self.start = self.peak = _rss_bytes()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            synchronize(self.device)
            self.peak = torch.cuda.max_memory_allocated(self.device)
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, _rss_bytes())


def time_calls(fn: Callable[[], object], device: torch.device, warmup: int,
               repeat: int) -> list[float]:
    """Seconds of each of ``repeat`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def _count_cpu_attention() -> None:
    """Give the CPU's fused attention kernels FLOP formulas (torch registers the GPU ones
    only, so SDPA on the CPU would count as free)."""
    from torch.utils import flop_counter as fc
    aten = torch.ops.aten
    forward = getattr(aten, '_scaled_dot_product_flash_attention_for_cpu', None)
    backward = getattr(aten, '_scaled_dot_product_flash_attention_for_cpu_backward', None)
    if forward is not None and forward not in fc.flop_registry:
        @fc.register_flop_formula(forward)
        def _sdpa_cpu(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
            return fc.sdpa_flop_count(query_shape, key_shape, value_shape)
    if backward is not None and backward not in fc.flop_registry:
        @fc.register_flop_formula(backward)
        def _sdpa_cpu_backward(grad_out_shape, query_shape, key_shape, value_shape, *args,
                               out_shape=None, **kwargs):
            return fc.sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape,
                                               value_shape)


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of ``fn`` (matrix products, convolutions and attention, backward
    included)."""
    from torch.utils.flop_counter import FlopCounterMode
    _count_cpu_attention()
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def matmul_rate(device: torch.device, dtype: torch.dtype, n: int, repeat: int = 5) -> float:
    """FLOP/s of an ``n``-cubed matrix product on ``device`` (median of ``repeat``)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = time_calls(lambda: a @ b, device, warmup=2, repeat=repeat)
    return 2 * n**3 / statistics.median(times)


def reference_rate(device: torch.device) -> dict:
    """The rate achieved FLOP/s are a share of: the GPU's bf16 peak, or the CPU's fp32 GEMM."""
    if device.type == 'cuda':
        name = torch.cuda.get_device_name(device)
        peak = next((rate for key, rate in PEAK_BF16 if key in name), None)
        measured = matmul_rate(device, torch.bfloat16, 8192, repeat=10)
        return dict(kind='dense bf16 peak (data sheet)' if peak else
                    'bf16 8192^3 matmul, measured', flops_per_s=peak or measured,
                    bf16_matmul_8192_measured=measured)
    measured = matmul_rate(device, torch.float32, 2048)
    return dict(kind='fp32 2048^3 matmul, measured in this run', flops_per_s=measured)


def machine_info(device: torch.device) -> dict:
    """What the numbers were measured on."""
    info = dict(date=datetime.datetime.now().isoformat(timespec='seconds'),
                python=platform.python_version(), torch=torch.__version__,
                cpu=platform.processor() or platform.machine(),
                cores=len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else
                os.cpu_count(), torch_threads=torch.get_num_threads(), device=str(device))
    for pkg in ('diffusers', 'transformers', 'mmengine', 'mmseg', 'mmdet'):
        try:
            info[pkg] = __import__(pkg).__version__
        except ImportError:
            pass
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
        info['cuda'] = torch.version.cuda
    return info


# ---------------------------------------------------------------------- the model's steps
def _tensors(out) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors(o)]
    return []


def _apply_switches(model, switches: Sequence[str], mode: str) -> None:
    """Put ``switches`` on ``model`` (a copy; nothing is undone)."""
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    from ..diffusion.attention import CrossAttentionMapProcessor
    from .random_models import unet_of
    unet = unet_of(model)
    if 'lora' in switches:
        from ..diffusion.lora import add_lora
        owner = model.backbone if hasattr(model, 'backbone') else model
        add_lora(unet, dict(r=8), train_also=getattr(owner, 'lora_train_also', ()))
    if 'explicit' in switches:  # only the fused layers: map layers are explicit already,
        # and a removed layer (NoSelfAttentionProcessor) stays removed
        unet.set_attn_processor({
            name: AttnProcessor() if isinstance(proc, AttnProcessor2_0) else proc
            for name, proc in unet.attn_processors.items()})
    if 'nomaps' in switches:
        backbone = getattr(model, 'backbone', None)
        if mode != 'backbone' or getattr(backbone, 'attn_maps', None) is None:
            raise ValueError('the "nomaps" switch is for the "backbone" mode of a model whose '
                             'backbone captures attention maps (attn_map_levels)')
        fused = AttnProcessor() if 'explicit' in switches else AttnProcessor2_0()
        unet.set_attn_processor({
            name: fused if isinstance(proc, CrossAttentionMapProcessor) else proc
            for name, proc in unet.attn_processors.items()})
        backbone.attn_map_levels, backbone.attn_maps = (), None
    if 'encode_each' in switches:  # the VAE encoder once per (image, expression) pair
        if not hasattr(model, 'reuse_latents'):
            raise ValueError(f'the "encode_each" switch is for the referring segmentor; '
                             f'{type(model).__name__} encodes each image once anyway')
        model.reuse_latents = False
    if 'vae_bf16' in switches:
        backbone = getattr(model, 'backbone', None)
        if not hasattr(backbone, 'set_vae_dtype'):
            raise ValueError(f'the "vae_bf16" switch is for models with a diffusion backbone '
                             f'(VPD, GenPercept: its vae_dtype option); {type(model).__name__} '
                             'has none')
        backbone.set_vae_dtype(torch.bfloat16)
    if 'channels_last' in switches:
        model.to(memory_format=torch.channels_last)
    if 'checkpointing' in switches:
        unet.enable_gradient_checkpointing()
    if 'compile' in switches:
        unet.compile()


def _step(model, mode: str, inputs, samples, steps: int | None) -> Callable[[], object]:
    """The call that ``mode`` measures."""
    from .random_models import tensor_forward
    name = type(model).__name__
    if mode == 'train':
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError(f'{name} has no trainable parameters')
        optim = torch.optim.AdamW(params, lr=1e-8, foreach=True)

        def train():
            loss = sum(t.float().mean() for t in _tensors(tensor_forward(model, inputs, samples)))
            loss.backward()
            optim.step()
            optim.zero_grad(set_to_none=True)
            return loss
        train.optimizer = optim
        return train
    if mode == 'infer':
        return lambda: tensor_forward(model, inputs, samples)
    if mode == 'backbone':
        if not hasattr(model, 'backbone'):
            raise ValueError(f'{name} has no backbone: use the "infer" mode')
        return lambda: model.backbone(inputs)
    if mode == 'encode':
        vae = getattr(model, 'vae', None) or getattr(getattr(model, 'backbone', None), 'vae',
                                                     None)
        if vae is None:
            raise ValueError(f'{name} has no VAE encoder')
        return lambda: vae.encode(inputs.to(vae.dtype)).latent_dist.mode()
    if mode == 'sample':
        if name == 'PixelDiffusionGeneralist':
            task = model._task(samples[0])
            texts = [task.passes[0].instruction] * len(inputs)
            keys = [str(i) for i in range(len(inputs))]
            return lambda: model.generate(model.extract_feat(inputs), texts, keys,
                                          num_inference_steps=steps, progress=False)
        if name == 'InstructionEditor':
            texts = [s.metainfo['instruction'] for s in samples]
            return lambda: model.edit(inputs, texts, num_inference_steps=steps, progress=False)
        raise ValueError(f'{name} does not sample: use the "infer" mode')
    raise ValueError(f'unknown mode {mode!r}; choose from {MODES}')


# ---------------------------------------------------------------------- the run
@dataclass
class Row:
    """One measurement: a variant of one mode at one batch size, image size and steps."""
    variant: str
    mode: str
    batch: int
    size: tuple[int, int]
    steps: int | None
    input_size: tuple[int, int] | None = None  # after the data preprocessor's padding
    seconds: list[float] = field(default_factory=list)
    peak_memory: int = 0
    memory_at_start: int = 0
    trainable_params: int | None = None
    optimizer_state_bytes: int | None = None
    flops: int | None = None
    output_error: float | None = None
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    def as_dict(self, reference: float, base: Row | None) -> dict:
        out = asdict(self)
        med = self.median
        out.update(median_s=med, min_s=min(self.seconds, default=None),
                   max_s=max(self.seconds, default=None))
        if med:
            out['images_per_s'] = self.batch / med
            if self.steps:
                out['seconds_per_step'] = med / self.steps
            if self.flops:
                out['flops_per_image'] = self.flops / self.batch
                out['achieved_flops_per_s'] = self.flops / med
                out['share_of_reference'] = self.flops / med / reference
        if base is not None and base.median and med:
            out['speedup_vs_base'] = base.median / med
            if base.peak_memory > 2**20 and self.peak_memory:  # below 1 MiB: noise
                out['memory_vs_base'] = self.peak_memory / base.peak_memory
        return out


def run_benchmark(model,
                  device: torch.device,
                  variants: Sequence[str] = ('base', ),
                  modes: Sequence[str] = ('infer', ),
                  batch_sizes: Sequence[int] = (1, ),
                  sizes: Sequence[tuple[int, int]] = ((512, 512), ),
                  steps: Sequence[int] = (50, ),
                  warmup: int = 1,
                  repeat: int = 3,
                  flops: bool = True,
                  log: Callable[[str], None] = print) -> list[Row]:
    """Measure ``model`` (kept as built; each variant runs on a copy) over the grid.

    ``steps`` applies to the ``sample`` mode only. A measurement that fails (e.g. out of
    memory) is recorded with its error and the others still run.

    Returns:
        One :class:`Row` per (mode, batch, size, steps, variant), the variants of one grid
        point together, the baseline first.
    """
    from .random_models import synthetic_batch
    parsed = [(spec, parse_variant(spec)) for spec in variants]
    model.cpu()
    rows = []
    for mode, batch, size in itertools.product(modes, batch_sizes, sizes):
        for n_steps in (steps if mode == 'sample' else (None, )):
            base_out, base_flops = None, None
            for spec, switches in parsed:
                row = Row(spec, mode, batch, tuple(size), n_steps)
                log(f'{mode} batch {batch} size {size[0]}x{size[1]}'
                    f'{f" steps {n_steps}" if n_steps else ""}: {spec}')
                try:
                    out = _measure(row, model, switches, device, synthetic_batch, warmup,
                                   repeat,
                                   flops and base_flops is None and 'compile' not in switches)
                    base_flops = base_flops or row.flops
                    row.flops = row.flops or base_flops
                    if base_out is None:
                        base_out = out
                    elif out is not None and base_out is not None:
                        row.output_error = _relative_error(out, base_out)
                except (RuntimeError, ValueError, NotImplementedError) as err:
                    row.error = f'{type(err).__name__}: {str(err).splitlines()[0][:200]}'
                    log(f'  failed: {row.error}')
                rows.append(row)
                if device.type == 'cuda':
                    torch.cuda.empty_cache()
    return rows


def _relative_error(out: torch.Tensor, ref: torch.Tensor) -> float | None:
    """max |out - ref| / max |ref|; where only the channels differ in number (features with
    and without attention maps), over the channels both have."""
    if out.shape != ref.shape:
        if out.shape[:1] + out.shape[2:] != ref.shape[:1] + ref.shape[2:]:
            return None
        channels = min(out.shape[1], ref.shape[1])
        out, ref = out[:, :channels], ref[:, :channels]
    return float((out - ref).abs().max() / ref.abs().max().clamp_min(1e-12))


def as_dicts(rows: list[Row], flops_per_s: float) -> list[dict]:
    """Each row as a dict (:meth:`Row.as_dict`), with its ratios to the baseline: the first
    row measured at the same mode, batch, size and steps."""
    base: dict[tuple, Row] = {}
    out = []
    for row in rows:
        first = base.setdefault((row.mode, row.batch, row.size, row.steps), row)
        out.append(row.as_dict(flops_per_s, first if first is not row else None))
    return out


def _measure(row: Row, model, switches, device, make_batch, warmup, repeat,
             flops) -> torch.Tensor | None:
    """Fill ``row``'s measurements; return the first output (not for training steps), to
    compare the variants' results."""
    output = None
    m = copy.deepcopy(model)
    try:
        _apply_switches(m, switches, row.mode)
        m.to(device)
        m.train(row.mode == 'train')
        torch.manual_seed(0)
        inputs, samples = make_batch(m, row.batch, row.size, device)
        row.input_size = tuple(inputs.shape[-2:])
        if 'channels_last' in switches:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        call = _step(m, row.mode, inputs, samples, row.steps)
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled='bf16' in switches)
        grad = torch.enable_grad() if row.mode == 'train' else torch.no_grad()

        def step():
            with autocast, grad:
                return call()
        with PeakMemory(device) as memory:
            if row.mode != 'train':  # the output of the first call, before any warm-up
                output = _tensors(step())[0].detach().float().cpu()
                warmup = max(warmup - 1, 0)
            row.seconds = time_calls(step, device, warmup, repeat)
        # GPU: all of it (the model's copy included); CPU: what the steps added to the RSS
        row.peak_memory = memory.peak - (0 if device.type == 'cuda' else memory.start)
        row.memory_at_start = memory.start
        if row.mode == 'train':
            row.trainable_params = sum(p.numel() for group in call.optimizer.param_groups
                                       for p in group['params'])
            row.optimizer_state_bytes = sum(
                t.numel() * t.element_size() for state in call.optimizer.state.values()
                for t in state.values() if isinstance(t, torch.Tensor))
        if flops:
            row.flops = count_flops(step)
    finally:
        del m
    return output
