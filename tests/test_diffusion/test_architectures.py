"""The published SD-1.5 / SD-2.1 architectures, built without weights through the loaders."""
import json
import os

import pytest
import torch

from mmgeneralist.diffusion import (
    ARCHITECTURES,
    load_text_encoder,
    load_unet,
    load_vae,
    random_weights,
    save_architecture,
)

#: parameters of the public checkpoints' UNet, VAE and text encoder (their model cards)
PUBLISHED = dict(sd15=(859_520_964, 83_653_863, 123_060_480),
                 sd21=(865_910_724, 83_653_863, 340_387_840))


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('name', sorted(ARCHITECTURES))
def test_architecture_folder_builds_the_published_models_on_meta(name, tmp_path):
    folder = save_architecture(name, str(tmp_path / name))
    assert sorted(os.listdir(folder)) == ['text_encoder', 'tokenizer', 'unet', 'vae']
    assert not [f for _, _, files in os.walk(folder) for f in files
                if f.endswith(('.safetensors', '.bin'))]  # configs only, no weights
    with torch.device('meta'), random_weights():
        unet, vae = load_unet(folder), load_vae(folder)
        text_encoder, tokenizer = load_text_encoder(folder)
    counts = tuple(_count(m) for m in (unet, vae, text_encoder))
    assert counts == PUBLISHED[name]
    assert unet.device.type == 'meta'
    assert tokenizer.model_max_length == text_encoder.config.max_position_embeddings == 77
    ids = tokenizer('a photo of a kitchen').input_ids
    # the tiny word-level vocabulary: ids within SD's, [EOS] the largest (CLIP pools there)
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id == max(ids)
    assert max(ids) < text_encoder.config.vocab_size == 49408
    # the UNet runs at SD's real widths on meta: shapes only
    with torch.no_grad():
        out = unet(torch.empty(1, 4, 64, 64, device='meta'), torch.tensor([1], device='meta'),
                   encoder_hidden_states=torch.empty(1, 77, text_encoder.config.hidden_size,
                                                     device='meta')).sample
    assert out.shape == (1, 4, 64, 64)


def test_without_the_context_weights_are_required(tmp_path):
    folder = save_architecture('sd15', str(tmp_path / 'sd15'))
    with pytest.raises(FileNotFoundError, match='Could not load the unet'):
        load_unet(folder)
    with open(os.path.join(folder, 'unet', 'config.json')) as f:
        assert json.load(f)['cross_attention_dim'] == 768
    with pytest.raises(ValueError, match='sd15'):
        save_architecture('sd3', str(tmp_path / 'x'))
