"""Decoder features of a diffusers UNet, captured with forward hooks (beside the attention maps).

VPD (Sec. 3.3) and GenPercept take the UNet's decoder features at four resolutions: the output
of each up block before its upsampler (the last block has none, so its output). The tap
registers one hook per up block and hands the features of the latest call back highest
resolution first; nothing in the UNet's ``forward`` is replaced.
"""
from __future__ import annotations

import torch


class UpBlockFeatureTap:
    """Keeps each up block's output (before upsampling) of a UNet call.

    Args:
        unet: a diffusers ``UNet2DConditionModel`` (or any module with ``up_blocks`` whose
            blocks have an ``upsamplers`` list or ``None``).
    """

    def __init__(self, unet):
        self._features: list[torch.Tensor] = []
        for block in unet.up_blocks:
            if block.upsamplers is not None:  # the block's output before it is upsampled
                block.upsamplers[0].register_forward_pre_hook(self._input)
            else:
                block.register_forward_hook(self._output)

    def _input(self, module, args):
        self._features.append(args[0])

    def _output(self, module, args, output):
        self._features.append(output)

    def reset(self) -> None:
        self._features = []

    def collect(self) -> list[torch.Tensor]:
        """The captured features in float32, highest resolution first; then forgets them."""
        feats, self._features = [f.float() for f in reversed(self._features)], []
        return feats
