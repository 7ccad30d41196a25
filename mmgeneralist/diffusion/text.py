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


def _warn_truncated(tokenizer, texts: Sequence[str], max_len: int) -> None:
    too_long = [t for t in texts if len(tokenizer(t).input_ids) > max_len]
    if too_long:
        warnings.warn(f'{len(too_long)} prompt(s) exceed the text encoder\'s {max_len} tokens '
                      f'and are truncated, e.g. {too_long[0]!r}', stacklevel=3)


def _tokens(text_encoder, tokenizer, texts: Sequence[str], max_len: int) -> torch.Tensor:
    _warn_truncated(tokenizer, texts, max_len)
    tokens = tokenizer(list(texts), padding='max_length', max_length=max_len, truncation=True,
                       return_tensors='pt')
    return tokens.input_ids.to(next(text_encoder.parameters()).device)


@torch.no_grad()
def encode_class_prompts(text_encoder, tokenizer, class_names: Sequence[str],
                         template: str = 'a photo of a {}') -> torch.Tensor:
    """One [EOS] embedding per class name, as VPD uses them (Sec. 3.2).

    Returns:
        Tensor of shape ``(num_classes, hidden_size)`` on the text encoder's device.
    """
    prompts = [template.format(name) for name in class_names]
    input_ids = _tokens(text_encoder, tokenizer, prompts, tokenizer.model_max_length)
    # pooler_output: the final-layer-normed hidden state at the [EOS] token
    return text_encoder(input_ids=input_ids).pooler_output


@torch.no_grad()
def encode_sentences(text_encoder, tokenizer, sentences: Sequence[str],
                     max_length: int | None = None) -> torch.Tensor:
    """The token embeddings of each sentence, padded or truncated to ``max_length`` tokens.

    VPD's referring mode uses one referring expression per image as the context (Sec. 3.4);
    GenPercept conditions on the empty prompt. Over-long sentences are truncated with a
    warning.

    Returns:
        Tensor of shape ``(len(sentences), max_length, hidden_size)``.
    """
    max_len = max_length or tokenizer.model_max_length
    if max_len > tokenizer.model_max_length:
        raise ValueError(f'max_length {max_len} exceeds the text encoder\'s '
                         f'{tokenizer.model_max_length} positions')
    input_ids = _tokens(text_encoder, tokenizer, sentences, max_len)
    return text_encoder(input_ids=input_ids).last_hidden_state
