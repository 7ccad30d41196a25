"""Text conditioning: class-name prompts through a frozen CLIP text encoder and an adapter."""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import nn


class TextAdapter(nn.Module):
    """``C + gamma * MLP(C)``: VPD's text adapter (Zhao et al. 2023, Sec. 3.2, Eq. 5).

    Args:
        dim: width of the text features.
        gamma_init: initial value of the learnable scale; VPD uses 1e-4 (Sec. 4).
    """

    def __init__(self, dim: int, gamma_init: float = 1e-4):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.gamma = nn.Parameter(torch.full((dim, ), float(gamma_init)))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return text + self.gamma * self.fc(text)


@torch.no_grad()
def encode_class_prompts(text_encoder, tokenizer, class_names: Sequence[str],
                         template: str = 'a photo of a {}') -> torch.Tensor:
    """One [EOS] embedding per class name, as VPD uses them (Sec. 3.2).

    Returns:
        Tensor of shape ``(num_classes, hidden_size)`` on the text encoder's device.
    """
    prompts = [template.format(name) for name in class_names]
    max_len = tokenizer.model_max_length
    too_long = [p for p in prompts if len(tokenizer(p).input_ids) > max_len]
    if too_long:
        warnings.warn(f'{len(too_long)} prompt(s) exceed the text encoder\'s {max_len} tokens '
                      f'and are truncated, e.g. {too_long[0]!r}', stacklevel=2)
    tokens = tokenizer(prompts, padding='max_length', max_length=max_len, truncation=True,
                       return_tensors='pt')
    device = next(text_encoder.parameters()).device
    out = text_encoder(input_ids=tokens.input_ids.to(device))
    return out.pooler_output  # the final-layer-normed hidden state at the [EOS] token
