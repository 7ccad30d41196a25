"""LoRA fine-tuning of a diffusers UNet, through ``peft``.

Fan et al. (Sec. 5) name the memory of fully fine-tuning the UNet as their method's limit
and parameter-efficient tuning as the way out. With ``lora=dict(r=8)`` in a model's config
the UNet's weights stay frozen and low-rank adapters are trained in the attention
projections, as diffusers' own LoRA training scripts do (``UNet2DConditionModel.add_adapter``
with a ``peft.LoraConfig``). Parts the model re-shaped for its task (the widened input
convolution of the editor and the generalist, the generalist's RGB output) have no
pretrained weights to keep and stay fully trainable (``train_also``).

The adapters are ordinary parameters of the model: mmengine's checkpoints hold them (with
the frozen weights), and a model built with the same ``lora`` config loads them back.
"""
from __future__ import annotations

from collections.abc import Sequence

#: diffusers' attention projections, the targets of its LoRA training scripts
DEFAULT_TARGETS = ('to_q', 'to_k', 'to_v', 'to_out.0')


def add_lora(unet, cfg: dict | None, train_also: Sequence[str] = ()) -> None:
    """Freeze ``unet`` and add a LoRA adapter to it; no-op when ``cfg`` is empty.

    Args:
        unet: a diffusers ``UNet2DConditionModel``.
        cfg: ``peft.LoraConfig`` arguments; defaults: ``r=8``, ``lora_alpha=r``,
            ``target_modules`` the attention projections (:data:`DEFAULT_TARGETS`),
            ``init_lora_weights='gaussian'`` (the adapter starts as a no-op: B = 0).
            Its own ``train_also`` entry adds module names to ``train_also``.
        train_also: sub-modules of ``unet`` that stay fully trainable.
    """
    if not cfg:
        return
    cfg = dict(cfg)
    train_also = (*train_also, *cfg.pop('train_also', ()))
    try:
        from peft import LoraConfig
    except ImportError:
        raise ImportError('lora=... needs peft: pip install peft==0.17.1 (see '
                          'requirements/runtime.txt)') from None
    cfg.setdefault('r', 8)
    cfg.setdefault('lora_alpha', cfg['r'])
    cfg.setdefault('target_modules', list(DEFAULT_TARGETS))
    cfg.setdefault('init_lora_weights', 'gaussian')
    unet.requires_grad_(False)
    unet.add_adapter(LoraConfig(**cfg))
    for name in train_also:
        unet.get_submodule(name).requires_grad_(True)


def lora_parameter_names(unet) -> list[str]:
    """Names of the adapter parameters in ``unet``."""
    return [n for n, _ in unet.named_parameters() if '.lora_' in n]
