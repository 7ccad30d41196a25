"""Fully sharded data parallel training (mmengine's ``FlexibleRunner`` + ``FSDPStrategy``).

The SD-size models keep, in full fine-tuning with AdamW in fp32, 16 bytes per trainable
parameter (weights, gradients, two moments): 13.8 GB for SD-1.5's 860M-parameter UNet before
any activation. FSDP shards them over the GPUs. ``configs/_base_/fsdp.py`` turns a config
into an FSDP run; this module gives its auto-wrap policy a registered name.
"""
from __future__ import annotations

from mmengine.registry import FUNCTIONS


@FUNCTIONS.register_module()
def diffusion_size_wrap_policy(module, recurse: bool, nonwrapped_numel: int,
                               min_num_params: int = int(1e7)) -> bool:
    """torch's ``size_based_auto_wrap_policy``: each sub-module of at least
    ``min_num_params`` parameters gets its own FSDP unit (the UNet's blocks, the VAE's,
    the text encoder), so only one unit's full weights are gathered at a time."""
    from torch.distributed.fsdp.wrap import size_based_auto_wrap_policy
    return size_based_auto_wrap_policy(module, recurse, nonwrapped_numel,
                                       min_num_params=min_num_params)
