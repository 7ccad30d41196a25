"""The tiny editor folder: its VAE reconstructs generated images it was not fitted to (a
random VAE of the same architecture cannot), and its text side tells words apart."""
import glob
import os.path as osp

import torch
from diffusers import AutoencoderKL
from transformers import CLIPTextModel, CLIPTokenizer

from mmgeneralist.diffusion.tiny import (
    EDITOR_WORDS,
    TINY_VOCABULARY_WORDS,
    load_training_images,
    save_tiny_stable_diffusion,
    vae_psnr,
)


def test_tiny_editor_vae_reconstructs_held_out_images(tiny_editor_sd_dir,
                                                      synthetic_editor_root):
    # the degraded validation scenes: no file the VAE is fitted to shows them (RefCOCO's
    # train2014/ holds the clean validation renders too)
    paths = sorted(glob.glob(osp.join(synthetic_editor_root, 'restoration/*/val/input/*.png')))
    images = load_training_images(paths)  # 32 px, as the tiny editor configs
    assert len(images) >= 64

    vae = AutoencoderKL.from_pretrained(tiny_editor_sd_dir, subfolder='vae')
    with torch.no_grad():
        latent = vae.encode(images[:2]).latent_dist.mode()
    assert latent.shape == (2, vae.config.latent_channels, *images.shape[-2:])  # no downsampling

    fitted = vae_psnr(vae, images)
    torch.manual_seed(0)
    unfitted = vae_psnr(AutoencoderKL.from_config(vae.config).eval(), images)
    print(f'held-out reconstruction PSNR: fitted {fitted:.1f} dB, random {unfitted:.1f} dB')
    assert fitted >= 30, (fitted, unfitted)
    assert fitted >= unfitted + 15, (fitted, unfitted)


def test_tiny_editor_text_tells_words_apart(tiny_editor_sd_dir, tmp_path):
    """The editor folder's text side stands in for a pretrained CLIP: two instructions that
    differ in one word (the colour, or the part) are far apart in its text encoder's output,
    much farther than in a tiny CLIP at its initialisation."""
    plain = save_tiny_stable_diffusion(str(tmp_path / 'plain'), attention_levels=(
        False, False, True, False), words=TINY_VOCABULARY_WORDS + EDITOR_WORDS)
    texts = ['Please use red to encircle the nose of the person.',
             'Please use cyan to encircle the nose of the person.',
             'Please use red to encircle the left ankle of the person.']

    def spread(folder):
        tokenizer = CLIPTokenizer.from_pretrained(folder, subfolder='tokenizer')
        encoder = CLIPTextModel.from_pretrained(folder, subfolder='text_encoder').eval()
        ids = tokenizer(texts, padding='max_length', max_length=tokenizer.model_max_length,
                        return_tensors='pt').input_ids
        with torch.no_grad():
            h = encoder(ids).last_hidden_state
        # the largest per-token change against the first sentence, relative to its norm
        return [float((h[i] - h[0]).norm(dim=-1).max() / h[0].norm(dim=-1).mean())
                for i in (1, 2)]

    editor, base = spread(tiny_editor_sd_dir), spread(plain)
    print(f'colour / part change of the text features: editor folder {editor}, plain {base}')
    assert all(e > 2 * b for e, b in zip(editor, base)), (editor, base)
