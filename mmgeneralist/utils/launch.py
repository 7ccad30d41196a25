"""Distributed launch on machines without GPUs (torchrun + gloo on the CPU)."""
from __future__ import annotations

import torch
import torch.distributed as dist


def setup_launcher(cfg) -> None:
    """Prepare ``cfg`` (and the process group) for ``cfg.launcher`` on this machine.

    On GPUs nothing changes: mmengine initialises NCCL itself. Without CUDA, mmengine's
    ``init_dist`` would call ``torch.cuda.set_device`` and its default DDP wrapper would pass
    ``device_ids``, both of which fail on the CPU; so the gloo process group is set up here
    and DDP is built without device ids. torchrun's RANK / WORLD_SIZE / MASTER_ADDR /
    MASTER_PORT environment variables are honoured as usual.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise SystemExit(f'launcher {cfg.launcher!r} needs GPUs; on the CPU use '
                         '--launcher pytorch (tools/dist_train.sh does)')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.update(cfg.get('model_wrapper_cfg') or {})
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
