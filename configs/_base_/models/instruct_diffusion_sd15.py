# InstructDiffusion (Geng et al., "InstructDiffusion: A Generalist Modeling Interface for
# Vision Tasks"): an InstructPix2Pix-style editor from SD-1.5 (Sec. 4.1), 256x256 inputs. The
# source image's VAE latent is concatenated to the noisy latent (the UNet's first convolution
# widened from 4 to 8 input channels, new weights zero); the instruction goes through SD's
# frozen CLIP text encoder. Sampling: Euler ancestral (the released edit_cli.py samples with
# k-diffusion's sample_euler_ancestral), 100 steps, text / image guidance 7.5 / 1.5 (the
# released segmentation example, scripts/inference_example.sh; its editing examples use
# 5.0 / 1.25). Colour decoders turn edits into keypoints, masks and boxes.
crop_size = (256, 256)
model = dict(
    type='InstructionEditor',
    # SD-1.5 in diffusers format, e.g. `huggingface-cli download
    # stable-diffusion-v1-5/stable-diffusion-v1-5 --local-dir checkpoints/stable-diffusion-v1-5`
    # on a machine that is online; an InstructPix2Pix folder (8 input channels) also loads
    pretrained='checkpoints/stable-diffusion-v1-5',
    guidance_scale=7.5,
    image_guidance_scale=1.5,
    # InstructPix2Pix Sec. 3.4: drop the text, the image or both, 5% each
    text_dropout=0.05,
    image_dropout=0.05,
    both_dropout=0.05,
    num_inference_steps=100,
    keypoint_codec=dict(type='KeypointCircleCodec'),
    mask_codec=dict(type='MaskOverlayCodec', alpha=0.5),  # Sec. 4.1: transparency 0.5
    max_edits_per_call=16,
    # the VAE's range, [-1, 1], in RGB
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
                           bgr_to_rgb=True))
