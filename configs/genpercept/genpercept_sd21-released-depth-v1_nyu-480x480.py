# GenPercept's released v1 depth model (aim-uofa/GenPercept, GenPercept_v1; the UNet folder
# unet_depth_v1 of the guangkaixu/genpercept-models weights), evaluated on NYUv2 through the
# VAE route: one UNet step on the scaled RGB latent at t = 1 with the 77-token empty prompt,
# the output -v is the depth latent (Eq. 8; the released pipeline: "pred_latent = -noise_pred"),
# which SD-2.1's VAE decoder turns into grey depth in [-1, 1] (DepthCodec); the released
# evaluation aligns it to the ground truth by least squares and clips to [1e-3, 10] m
# (AffineInvariantDepthMetric's defaults, from the released eval.py).
#   python tools/test.py configs/genpercept/genpercept_sd21-released-depth-v1_nyu-480x480.py \
#       --cfg-options model.backbone.unet=PATH/unet_depth_v1
# Weights: the released UNet folder (config.json + weights) in
# checkpoints/genpercept-models/unet_depth_v1, and a diffusers SD-2.1 folder (VAE, text
# encoder) in checkpoints/stable-diffusion-2-1. Its disparity models: set
# test_evaluator.alignment='least_squares_disparity'. Not here: the released models' own
# fine-tuned VAE decoders (vae_decoder/ beside some UNets), and the released test-time
# processing (768 px processing resolution, ensembles); training: see
# genpercept_sd21-dpt_2xb8-30k_nyu-480x480.py.
_base_ = [
    '../_base_/models/sd_preprocessors.py', '../_base_/datasets/nyu_480x480.py',
    '../_base_/schedules/genpercept_30k.py', '../_base_/default_runtime.py'
]

sd_pretrained = 'checkpoints/stable-diffusion-2-1'
model = dict(
    type='DepthEstimator',
    data_preprocessor=_base_.depth_data_preprocessor,
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained=sd_pretrained,
        unet='checkpoints/genpercept-models/unet_depth_v1',  # the released fine-tuned UNet
        mode='genpercept',  # t = 1, scaled latent, no adapter (Eq. 8)
        empty_prompt='padded',  # v1: 77 tokens (GenPercept_v1/empty_text_embed.npy)
        attn_map_levels=(),
        outputs='latent'),  # -v: the depth latent
    decode_head=dict(
        type='VAELatentHead',
        pretrained=sd_pretrained,
        codec=dict(type='DepthCodec')),
    test_cfg=dict(mode='whole'))
# training (fine-tuning the released UNet) as in genpercept_sd21-dpt_2xb8-30k_nyu-480x480.py:
# the data base's pipeline (flip and 480x480 crop)
train_dataloader = dict(batch_size=8)  # x 2 = 16
val_evaluator = dict(
    type='AffineInvariantDepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0,
    crop_type='nyu_crop')
test_evaluator = val_evaluator
