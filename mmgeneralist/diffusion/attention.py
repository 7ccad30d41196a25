"""Cross-attention maps from a diffusers UNet, through its attention-processor interface.

VPD (Zhao et al., ICCV 2023, Sec. 3.3) averages the cross-attention maps of each resolution
(over heads and layers; one channel per text token) and concatenates them to that
resolution's features. Here a processor is installed with ``UNet2DConditionModel.
set_attn_processor`` on the cross-attention layers of the requested levels only: it computes
the layer's softmax probabilities once, keeps their head average as the map and multiplies
them with the values for the layer's output (before, the map was computed beside diffusers'
fused SDPA, which computed the query-key product a second time). Every other layer keeps its
processor untouched, so no ``forward`` is patched and the fused path stays where no map is
wanted.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # diffusers is imported when a processor is made, not with the package
    from diffusers.models.attention_processor import Attention


class AttentionMapStore:
    """Collects head-averaged cross-attention maps of one UNet call, keyed by ``H*W``."""

    def __init__(self):
        self.maps: dict[int, list[torch.Tensor]] = defaultdict(list)

    def reset(self) -> None:
        self.maps = defaultdict(list)

    def add(self, probs: torch.Tensor) -> None:
        self.maps[probs.shape[1]].append(probs)

    def averaged(self, height: int, width: int) -> torch.Tensor:
        """Mean over the layers of the resolution ``height x width``: ``(B, K, H, W)``."""
        maps = self.maps.get(height * width)
        if not maps:
            raise KeyError(f'no cross-attention map of size {height}x{width} was captured '
                           f'(captured sizes: {sorted(self.maps)})')
        mean = torch.stack(maps).mean(0)  # (B, HW, K)
        return mean.transpose(1, 2).reshape(mean.shape[0], mean.shape[2], height, width)


class CrossAttentionMapProcessor:
    """Cross-attention whose softmax map, averaged over heads, also goes into ``store``.

    The layer's output is computed from the same probabilities as the map, so the query
    and key projections and ``q k^T`` run once (explicit attention, as diffusers'
    ``AttnProcessor``; the keys are the few text tokens, so the probabilities are small).
    Self-attention calls, if the processor is put on one, go to diffusers' fused SDPA.
    """

    def __init__(self, store: AttentionMapStore):
        from diffusers.models.attention_processor import AttnProcessor2_0
        self.store = store
        self.fused = AttnProcessor2_0()

    def __call__(self,
                 attn: Attention,
                 hidden_states: torch.Tensor,
                 encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None,
                 temb: torch.Tensor | None = None,
                 *args,
                 **kwargs) -> torch.Tensor:
        if encoder_hidden_states is None:
            return self.fused(attn, hidden_states, encoder_hidden_states, attention_mask, temb,
                              *args, **kwargs)
        query, key, value = self._projections(attn, hidden_states, encoder_hidden_states)
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, key.shape[1],
                                                         hidden_states.shape[0])
        probs = attn.get_attention_scores(query, key, attention_mask)  # (B*heads, HW, K)
        self.store.add(probs.unflatten(0, (hidden_states.shape[0], attn.heads)).mean(1))
        out = attn.batch_to_head_dim(torch.bmm(probs, value))
        out = attn.to_out[1](attn.to_out[0](out))  # projection, dropout
        if attn.residual_connection:
            out = out + hidden_states
        return out / attn.rescale_output_factor

    @staticmethod
    def _projections(attn: Attention, hidden_states: torch.Tensor, context: torch.Tensor):
        """The layer's query, key and value, heads folded into the batch: ``(B*heads, L, d)``."""
        if attn.group_norm is not None or attn.spatial_norm is not None or hidden_states.ndim != 3:
            raise NotImplementedError('cross-attention maps are taken from transformer-block '
                                      'cross-attention (3-D hidden states, no group/spatial norm)')
        if attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        query, key, value = attn.to_q(hidden_states), attn.to_k(context), attn.to_v(context)
        if attn.norm_q is not None:
            query = attn.norm_q(query.unflatten(-1, (attn.heads, -1))).flatten(-2)
        if attn.norm_k is not None:
            key = attn.norm_k(key.unflatten(-1, (attn.heads, -1))).flatten(-2)
        return (attn.head_to_batch_dim(query), attn.head_to_batch_dim(key),
                attn.head_to_batch_dim(value))

    @staticmethod
    def attention_map(attn: Attention, hidden_states: torch.Tensor,
                      context: torch.Tensor) -> torch.Tensor:
        """softmax(q k^T / sqrt(d)) of the layer, mean over heads: ``(B, HW, K)``."""
        query, key, _ = CrossAttentionMapProcessor._projections(attn, hidden_states, context)
        probs = attn.get_attention_scores(query, key)
        return probs.unflatten(0, (hidden_states.shape[0], attn.heads)).mean(1)


def processor_level(name: str, num_levels: int) -> int:
    """Resolution level (0 = highest) of an attention processor, from its module path."""
    if name.startswith('mid_block.'):
        return num_levels - 1
    match = re.match(r'(down|up)_blocks\.(\d+)\.', name)
    if match is None:
        raise ValueError(f'cannot tell the resolution level of attention processor {name!r}')
    index = int(match.group(2))
    return index if match.group(1) == 'down' else num_levels - 1 - index


def install_attention_map_processors(unet, levels: Iterable[int]) -> AttentionMapStore:
    """Put a :class:`CrossAttentionMapProcessor` on the cross-attention layers of ``levels``.

    Returns:
        The store the processors write into (reset it before each UNet call).
    """
    levels = set(levels)
    num_levels = len(unet.config.block_out_channels)
    store = AttentionMapStore()
    processors = {}
    for name, proc in unet.attn_processors.items():
        is_cross = name.endswith('attn2.processor')
        if is_cross and processor_level(name, num_levels) in levels:
            proc = CrossAttentionMapProcessor(store)
        processors[name] = proc
    if not any(isinstance(p, CrossAttentionMapProcessor) for p in processors.values()):
        raise ValueError(f'the UNet has no cross-attention layer at levels {sorted(levels)}')
    unet.set_attn_processor(processors)
    return store
