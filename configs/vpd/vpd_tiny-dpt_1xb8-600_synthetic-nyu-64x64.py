# Tiny VPD depth on the generated NYUv2-format data, on the CPU in minutes:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic --formats nyu
#   python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd
#   python tools/train.py configs/vpd/vpd_tiny-dpt_1xb8-600_synthetic-nyu-64x64.py
# Same model and data path as vpd_sd15-dpt (diffusers-format weights folder, mmseg's
# NYUDataset and DepthEstimator, the scene class as the text, DiffusionDepthHead with the
# scale-invariant loss, DepthMetric), at a toy size.
_base_ = [
    '../_base_/datasets/synthetic-nyu_64x64.py', '../_base_/schedules/tiny_cpu.py',
    '../_base_/default_runtime.py'
]

model = dict(
    type='DepthEstimator',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=0,  # padded depth is 0: missing, ignored by the loss
        size_divisor=64,
        test_cfg=dict(size_divisor=64)),
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained='checkpoints/tiny-sd',
        class_names='NYUDataset',  # mmseg's 27 NYU scene classes
        context='image_class',
        timestep=0,
        attn_map_levels=()),
    decode_head=dict(
        type='DiffusionDepthHead',
        in_channels=[32, 64, 64, 64],  # the tiny UNet's block widths
        channels=32,
        in_stride=4,  # the tiny VAE downsamples 4x
        max_depth=10.0,
        loss_decode=dict(type='SiLogLoss')),
    test_cfg=dict(mode='whole'))

max_iters = 600
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=200))
