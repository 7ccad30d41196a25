"""diffusers schedulers from config, and the one denoising loop the generative models share."""
from __future__ import annotations

import sys
import zlib
from collections.abc import Callable

import torch


def build_scheduler(cfg, base_config=None):
    """A diffusers scheduler from ``dict(type='DDIMScheduler', **options)``.

    Args:
        cfg: the config (``type`` is any scheduler class diffusers exports), or a scheduler,
            returned as it is.
        base_config: a scheduler config to start from (``scheduler.config``), so that an
            inference scheduler shares the training noise schedule; ``options`` override it.
    """
    import diffusers
    if not isinstance(cfg, dict):
        return cfg
    cfg = dict(cfg)
    name = cfg.pop('type', None)
    cls = getattr(diffusers, str(name), None)
    if cls is None or not isinstance(cls, type) or not hasattr(cls, 'from_config') or \
            not name.endswith('Scheduler'):
        known = sorted(n for n in dir(diffusers) if n.endswith('Scheduler'))
        raise ValueError(f'unknown diffusers scheduler {name!r}; choose one of {known}')
    # A loaded config lists in ``_use_default_values`` the keys its file did not set;
    # from_config resets those to the new class's defaults (what diffusers' own
    # ``Other.from_config(pipe.scheduler.config)`` does), except the ones given here, which
    # it would otherwise silently drop.
    config = dict(base_config or {})
    defaults = [k for k in config.pop('_use_default_values', []) if k not in cfg]
    config.update(cfg)
    if defaults:
        config['_use_default_values'] = defaults
    # the noise tables live on the CPU, as diffusers keeps them, even when the model is
    # built under another default device (``meta`` for shape checks: some schedulers turn
    # their tables into numpy arrays, which a meta tensor cannot give)
    with torch.device('cpu'):
        return cls.from_config(config)


def seeded_generators(seed: int, keys, device='cpu') -> list[torch.Generator]:
    """One generator per sample, seeded from ``seed`` and the sample's key (e.g. its image
    path), so that a sample's noise does not depend on its batch or position."""
    return [torch.Generator(device).manual_seed((seed + zlib.crc32(str(k).encode())) % 2**63)
            for k in keys]


def denoise(model_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
            scheduler,
            noise: torch.Tensor,
            num_inference_steps: int,
            generator: torch.Generator | None = None,
            progress: bool | None = None) -> torch.Tensor:
    """Run ``scheduler`` from ``noise`` to a sample.

    Args:
        model_fn: ``(scaled x_t, t) -> model output`` in the scheduler's prediction type.
        scheduler: a diffusers scheduler; a fresh copy of it runs (schedulers keep state
            between steps, multistep solvers in particular).
        noise: the initial Gaussian noise (scaled by ``init_noise_sigma`` here).
        num_inference_steps: denoising steps.
        generator: for schedulers that add noise in a step (DDPM, ancestral ones); a list
            of one generator per sample is passed on as diffusers' ``randn_tensor`` takes it.
        progress: show a progress bar over the steps; ``None``: when stderr is a terminal.
    """
    from tqdm.auto import tqdm
    scheduler = type(scheduler).from_config(scheduler.config)
    scheduler.set_timesteps(num_inference_steps, device=noise.device)
    x = noise * scheduler.init_noise_sigma
    if progress is None:
        progress = sys.stderr.isatty()
    step_kwargs = {'generator': generator} if 'generator' in _step_args(scheduler) else {}
    for t in tqdm(scheduler.timesteps, desc='denoising', disable=not progress, leave=False):
        out = model_fn(scheduler.scale_model_input(x, t), t)
        x = scheduler.step(out, t, x, **step_kwargs).prev_sample
    return x


def _step_args(scheduler) -> set[str]:
    import inspect
    return set(inspect.signature(scheduler.step).parameters)
