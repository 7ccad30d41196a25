"""Re-shaping a pretrained diffusers UNet for a new task, keeping what can be kept.

Both generalists start from a Stable Diffusion UNet whose first and last convolutions do not
fit their inputs and outputs: the pixel generalist (Fan et al., Sec. 3.2) denoises a 3-channel
RGB target with image-encoder features concatenated to it; the instruction editor
(InstructDiffusion / InstructPix2Pix) concatenates the source latent, 4 -> 8 input channels.
:func:`reshape_unet_io` swaps those convolutions for ones of the new widths: the input
channels and output channels the two share keep their pretrained weights, every new weight
is zero, so at initialisation the new inputs contribute nothing and the UNet computes what it
computed before on the kept channels.
"""
from __future__ import annotations

import torch
from torch import nn


def _resized_conv(conv: nn.Conv2d, in_channels: int, out_channels: int,
                  keep_in: int) -> nn.Conv2d:
    new = nn.Conv2d(in_channels, out_channels, conv.kernel_size, conv.stride, conv.padding,
                    bias=conv.bias is not None, device=conv.weight.device,
                    dtype=conv.weight.dtype)
    keep_out = min(out_channels, conv.out_channels)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[:keep_out, :keep_in] = conv.weight[:keep_out, :keep_in]
        if conv.bias is not None:
            new.bias.zero_()
            new.bias[:keep_out] = conv.bias[:keep_out]
    return new


def reshape_unet_io(unet, in_channels: int | None = None, out_channels: int | None = None,
                    keep_in_channels: int | None = None):
    """Give ``unet`` (a diffusers ``UNet2DConditionModel``) new input and output widths.

    Kept from the pretrained weights: ``conv_in``'s weights of its first
    ``keep_in_channels`` input channels (for every output channel) and its bias;
    ``conv_out``'s weights and bias of its first ``min(old, new)`` output channels. Every
    other weight of the two convolutions is zero. ``unet.config`` is updated, so
    ``save_pretrained`` writes a folder that loads back with the new shapes.

    Args:
        unet: the UNet, changed in place.
        in_channels: new input width; ``None`` keeps it.
        out_channels: new output width; ``None`` keeps it.
        keep_in_channels: input channels that keep their meaning, and so their weights;
            ``None``: ``min(old, new)``. The pixel generalist keeps 3 (its RGB target in
            the place of SD's first latent channels) even when ``3 + features`` happens to
            equal the old width: the feature channels are new inputs.

    Returns:
        ``unet``.
    """
    old_in = unet.conv_in.in_channels
    in_channels = old_in if in_channels is None else in_channels
    keep_in = min(old_in, in_channels) if keep_in_channels is None else keep_in_channels
    if not 0 <= keep_in <= min(old_in, in_channels):
        raise ValueError(f'keep_in_channels={keep_in_channels} must be between 0 and '
                         f'min(old, new) = {min(old_in, in_channels)}')
    if in_channels != old_in or keep_in < old_in:
        unet.conv_in = _resized_conv(unet.conv_in, in_channels, unet.conv_in.out_channels,
                                     keep_in)
        unet.register_to_config(in_channels=in_channels)
    if out_channels is not None and out_channels != unet.conv_out.out_channels:
        conv = unet.conv_out
        unet.conv_out = _resized_conv(conv, conv.in_channels, out_channels, conv.in_channels)
        unet.register_to_config(out_channels=out_channels)
    return unet


class NoSelfAttentionProcessor:
    """An attention processor that removes the layer: it returns zeros, so the transformer
    block's residual ``hidden_states + attn1(...)`` keeps ``hidden_states`` unchanged and no
    attention matrix is ever formed (Fan et al., Sec. 3.2: the outermost self-attention at a
    large pixel-space target costs the most memory)."""

    def __call__(self, attn, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return torch.zeros_like(hidden_states)


def outermost_self_attention_names(unet) -> list[str]:
    """The self-attention (``attn1``) processor names of the UNet's outermost blocks: the
    first down block and the last up block (the full-resolution ones)."""
    prefixes = ('down_blocks.0.', f'up_blocks.{len(unet.up_blocks) - 1}.')
    return [name for name in unet.attn_processors
            if name.startswith(prefixes) and '.attn1.' in name]


def remove_outermost_self_attention(unet) -> list[str]:
    """Install :class:`NoSelfAttentionProcessor` on :func:`outermost_self_attention_names`;
    every other layer keeps its processor. Returns the names it changed (empty when the
    outermost blocks have no attention, as in a UNet whose first block is ``DownBlock2D``).

    The removed layers, and the norm in front of each (``norm1`` of its transformer block),
    no longer take part in the loss: they are frozen, so that distributed training (DDP
    without ``find_unused_parameters``) does not wait for their gradients.
    """
    names = outermost_self_attention_names(unet)
    if names:
        processors = dict(unet.attn_processors)
        processors.update({name: NoSelfAttentionProcessor() for name in names})
        unet.set_attn_processor(processors)
        for name in names:
            block = unet.get_submodule(name.rsplit('.attn1.', 1)[0])
            block.attn1.requires_grad_(False)
            block.norm1.requires_grad_(False)
    return names
