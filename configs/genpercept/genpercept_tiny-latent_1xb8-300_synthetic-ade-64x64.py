# Tiny GenPercept stage 1 (colour-map latents, Sec. 3.2) on the generated ADE20K-format data:
#   python tools/train.py configs/genpercept/genpercept_tiny-latent_1xb8-300_synthetic-ade-64x64.py
# With random tiny weights the VAE cannot reconstruct colours, so stage 1 here only shows
# the latent loss going down; stage 2 (genpercept_tiny-upernet_...) starts from it.
_base_ = [
    '../_base_/datasets/synthetic-ade_64x64.py', '../_base_/schedules/tiny_cpu.py',
    '../_base_/default_runtime.py'
]

pretrained = 'checkpoints/tiny-sd'
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size_divisor=64,
        test_cfg=dict(size_divisor=64)),
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained=pretrained,
        mode='genpercept',
        attn_map_levels=(),
        outputs='latent'),
    decode_head=dict(
        type='VAELatentHead', pretrained=pretrained, target='segmentation', num_classes=7),
    test_cfg=dict(mode='whole'))

max_iters = 300
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
