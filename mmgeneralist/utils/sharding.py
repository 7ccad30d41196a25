"""Sharded data-parallel training: mmengine's ``FlexibleRunner`` with ``FSDPStrategy`` or
``DeepSpeedStrategy``.

The SD-size models keep, in full fine-tuning with AdamW in fp32, 16 bytes per trainable
parameter (weights, gradients, two moments): 13.8 GB for SD-1.5's 860M-parameter UNet before
any activation. FSDP shards all of them over the GPUs, DeepSpeed's ZeRO-2 the gradients and
moments. ``configs/_base_/fsdp.py`` and ``configs/_base_/deepspeed_zero2.py`` turn a config
into such a run; this module gives FSDP's auto-wrap policy a registered name and adapts
mmengine's DeepSpeed optimizer wrapper to the configs.
"""
from __future__ import annotations

import torch
from mmengine._strategy.deepspeed import DeepSpeedOptimWrapper
from mmengine.registry import FUNCTIONS, OPTIM_WRAPPERS

#: the DeepSpeed release this works with: 0.19 moved the 1-bit optimizers that mmengine
#: 0.10.7's DeepSpeedStrategy imports (``deepspeed.runtime.fp16.onebit``)
DEEPSPEED_VERSION = '0.18.9'


@FUNCTIONS.register_module()
def diffusion_size_wrap_policy(module, recurse: bool, nonwrapped_numel: int,
                               min_num_params: int = int(1e7)) -> bool:
    """torch's ``size_based_auto_wrap_policy``: each sub-module of at least
    ``min_num_params`` parameters gets its own FSDP unit (the UNet's blocks, the VAE's,
    the text encoder), so only one unit's full weights are gathered at a time."""
    from torch.distributed.fsdp.wrap import size_based_auto_wrap_policy
    return size_based_auto_wrap_policy(module, recurse, nonwrapped_numel,
                                       min_num_params=min_num_params)


@OPTIM_WRAPPERS.register_module()
class DiffusionDeepSpeedOptimWrapper(DeepSpeedOptimWrapper):
    """mmengine's ``DeepSpeedOptimWrapper``, as ``configs/_base_/deepspeed_zero2.py`` uses it.

    Two differences:

    * it takes the ``clip_grad=None`` of this project's schedules (mmengine's wrapper takes
      no such argument); DeepSpeed clips by the strategy's ``gradient_clipping``, so a
      ``clip_grad`` dict is refused with that instruction;
    * DeepSpeed's step runs under ``torch.no_grad()``: ZeRO all-gathers the updated
      partitions into views of one flat tensor, which on CPU ranks (gloo) fails in autograd
      ("Output 0 of Split is a view and is being modified inplace"); an update has nothing
      to differentiate, on any device.
    """

    def __init__(self, optimizer, clip_grad: dict | None = None):
        if clip_grad is not None:
            raise ValueError(f'clip_grad={clip_grad!r}: under DeepSpeed, clip by the strategy: '
                             "strategy=dict(gradient_clipping=MAX_NORM), and set "
                             'optim_wrapper.clip_grad=None')
        super().__init__(optimizer)

    def step(self, **kwargs) -> None:
        with torch.no_grad():
            self.model.step()
