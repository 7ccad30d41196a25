"""Config loading for the tools, and distributed launch without GPUs (torchrun + gloo)."""
from __future__ import annotations

import importlib.util
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.config import Config


def setup_launcher(cfg) -> None:
    """Prepare ``cfg`` (and the process group) for ``cfg.launcher`` on this machine.

    On GPUs nothing changes: mmengine initialises NCCL itself. Without CUDA, mmengine's
    ``init_dist`` would call ``torch.cuda.set_device`` and its default DDP wrapper would pass
    ``device_ids``, both of which fail on the CPU; so the gloo process group is set up here
    and DDP is built without device ids (an ``FSDPStrategy``'s wrapper with
    ``device_id='cpu'``). torchrun's RANK / WORLD_SIZE / MASTER_ADDR /
    MASTER_PORT environment variables are honoured as usual.

    Raises:
        ValueError: a launcher other than ``pytorch`` (slurm, mpi) on a machine without GPUs.
    """
    check_strategy(cfg)
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise ValueError(f'launcher {cfg.launcher!r} needs GPUs; on the CPU use '
                         '--launcher pytorch (tools/dist_train.sh does)')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    strategy = cfg.get('strategy') or {}
    if strategy.get('type') == 'FSDPStrategy':  # FlexibleRunner: FSDP on the CPU device
        # (mmengine passes device_id=LOCAL_RANK, a GPU index; torch's FSDP runs on the CPU
        # when device_id says so)
        strategy.setdefault('model_wrapper', {})['device_id'] = 'cpu'
    wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.update(cfg.get('model_wrapper_cfg') or {})
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def check_strategy(cfg) -> None:
    """A ``DeepSpeedStrategy`` config needs DeepSpeed installed, at a release that mmengine
    can import, and distributed ranks.

    Raises:
        RuntimeError: what to install or how to launch, in one sentence.
    """
    strategy = cfg.get('strategy') or {}
    if strategy.get('type') != 'DeepSpeedStrategy':
        return
    from .sharding import DEEPSPEED_VERSION
    try:
        import deepspeed
    except ImportError:
        deepspeed = None
    # mmengine's DeepSpeedStrategy imports the 1-bit optimizers from here
    if deepspeed is None or importlib.util.find_spec('deepspeed.runtime.fp16.onebit') is None:
        found = 'not installed' if deepspeed is None else f'{deepspeed.__version__} installed'
        raise RuntimeError(f'this config trains with DeepSpeed ({found}); mmengine works with '
                           f'pip install --no-build-isolation deepspeed=={DEEPSPEED_VERSION}')
    if cfg.get('launcher', 'none') == 'none':
        raise RuntimeError('DeepSpeed runs distributed ranks: train the config with '
                           'tools/dist_train.sh CONFIG NUM_GPUS (on the CPU too); test its '
                           'checkpoints in the plain config, after DeepSpeed\'s '
                           'zero_to_fp32.py in the work dir')


def load_tool_config(config: str, cfg_options: dict | None, launcher: str,
                     work_dir: str | None):
    """The config as ``tools/train.py`` and ``tools/test.py`` run it.

    Merges ``--cfg-options``, prepares the launcher (see :func:`setup_launcher`) and sets
    the work dir: ``work_dir`` if given, else the config's own, else
    ``./work_dirs/<config name>``.

    Raises:
        FileNotFoundError: the config file does not exist.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    setup_launcher(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def enable_amp(cfg) -> None:
    """Train with mmengine's ``AmpOptimWrapper`` (fp16 with dynamic loss scaling).

    Raises:
        RuntimeError: there is no GPU (mmengine's fp16 training needs CUDA).
    """
    if not torch.cuda.is_available():
        raise RuntimeError('--amp uses mmengine\'s AmpOptimWrapper (fp16 with loss scaling), '
                           'which needs a GPU; this machine has none. Drop --amp on the CPU.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
