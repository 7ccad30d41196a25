"""Decoder features of a diffusers UNet, captured with forward hooks (beside the attention maps).

VPD (Sec. 3.3) and GenPercept take the UNet's decoder features at four resolutions. Which
layer of each resolution is the feature differs between VPD's text and its code:

* ``'released'`` (VPD's released ``vpd/models.py``, ``register_hier_output``; mmseg 1.2's
  ``mmseg/models/backbones/vpd.py`` ports it): the ldm UNet's ``output_blocks`` 1, 4 and 7
  and the UNet's last decoder output. ldm's output blocks are the layers of diffusers' up
  blocks in order, three per block in SD, so these are the *middle* layer of up blocks 0, 1
  and 2 (``up_blocks[0].resnets[1]``, ``up_blocks[1].attentions[1]``,
  ``up_blocks[2].attentions[1]``) and the end of ``up_blocks[3]``. For a UNet with other
  ``layers_per_block`` the tap is the layer before each block's last one.
* ``'block_ends'`` (our reading of Sec. 3.3, "features of the decoder at four
  resolutions"): each up block's output before its upsampler. Same shapes, other features.

The tap registers one hook per up block and hands the features of the latest call back
highest resolution first; nothing in the UNet's ``forward`` is replaced.
"""
from __future__ import annotations

import torch

TAPS = ('released', 'block_ends')


class UpBlockFeatureTap:
    """Keeps one feature per up block of each UNet call (see the module docstring).

    Args:
        unet: a diffusers ``UNet2DConditionModel`` (or any module with ``up_blocks`` whose
            blocks have ``resnets``, optional ``attentions`` and ``upsamplers`` or ``None``).
        taps: ``'released'`` or ``'block_ends'``.
    """

    def __init__(self, unet, taps: str = 'block_ends'):
        if taps not in TAPS:
            raise ValueError(f'taps={taps!r}; choose one of {TAPS}')
        self.taps = taps
        self._features: list[torch.Tensor] = []
        last = len(unet.up_blocks) - 1
        for i, block in enumerate(unet.up_blocks):
            if taps == 'released' and i < last:
                layer = len(block.resnets) - 2  # the layer before the block's last one
                if layer < 0:
                    raise ValueError(f"taps='released' needs two or more layers per up block; "
                                     f'up_blocks[{i}] has {len(block.resnets)}')
                attentions = getattr(block, 'attentions', None)
                module = attentions[layer] if attentions is not None else block.resnets[layer]
                module.register_forward_hook(self._output)
            elif block.upsamplers is not None:  # the block's output before it is upsampled
                block.upsamplers[0].register_forward_pre_hook(self._input)
            else:
                block.register_forward_hook(self._output)

    def _input(self, module, args):
        self._features.append(args[0])

    def _output(self, module, args, output):
        if isinstance(output, tuple):  # a transformer called with return_dict=False
            output = output[0]
        self._features.append(getattr(output, 'sample', output))

    def reset(self) -> None:
        self._features = []

    def collect(self) -> list[torch.Tensor]:
        """The captured features in float32, highest resolution first; then forgets them."""
        feats, self._features = [f.float() for f in reversed(self._features)], []
        return feats
