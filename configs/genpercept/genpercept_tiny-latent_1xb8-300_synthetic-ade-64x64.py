# Tiny GenPercept stage 1 (colour-map latents, Sec. 3.2) on the generated ADE20K-format data:
#   python tools/train.py configs/genpercept/genpercept_tiny-latent_1xb8-300_synthetic-ade-64x64.py
# The model of genpercept_sd21-latent (its base) with the tiny model's weights and widths.
# With random tiny weights the VAE cannot reconstruct colours, so stage 1 here only shows
# the latent loss going down; stage 2 (genpercept_tiny-upernet_...) starts from it.
_base_ = [
    '../_base_/models/genpercept_sd21-latent.py', '../_base_/models/sd_preprocessors.py',
    '../_base_/datasets/synthetic-ade_64x64.py', '../_base_/schedules/tiny_cpu.py',
    '../_base_/default_runtime.py'
]

crop_size = (64, 64)
sd_pretrained = 'checkpoints/tiny-sd'
num_classes = len(_base_.class_names)
model = dict(
    data_preprocessor=_base_.seg_data_preprocessor,
    backbone=dict(pretrained=sd_pretrained),
    decode_head=dict(pretrained=sd_pretrained, codec=dict(num_classes=num_classes)))
# stage 2's UperNet at the tiny widths
stage2_head = dict(
    _base_.stage2_head,
    in_channels=[32, 64, 64, 64],
    channels=32,
    dropout_ratio=0.0,
    num_classes=num_classes,
    norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))

max_iters = 300
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
