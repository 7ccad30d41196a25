"""The tiny editor folder's VAE reconstructs generated images it was not fitted to; a random
VAE of the same architecture cannot."""
import glob
import os.path as osp

import torch
from diffusers import AutoencoderKL

from mmgeneralist.diffusion.tiny import load_training_images, vae_psnr


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
