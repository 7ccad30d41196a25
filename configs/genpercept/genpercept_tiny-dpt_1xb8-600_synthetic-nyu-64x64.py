# Tiny GenPercept depth on the generated NYUv2-format data, on the CPU in minutes:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic --formats nyu
#   python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd
#   python tools/train.py configs/genpercept/genpercept_tiny-dpt_1xb8-600_synthetic-nyu-64x64.py
# Same model and evaluation as genpercept_sd21-dpt (one step at t = 1 on the RGB latent,
# DPT-style head, affine-invariant AbsRel / delta1), at a toy size.
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
        seg_pad_val=0,
        size_divisor=64,
        test_cfg=dict(size_divisor=64)),
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained='checkpoints/tiny-sd',
        mode='genpercept',
        attn_map_levels=()),
    decode_head=dict(
        type='DiffusionDepthHead',
        in_channels=[32, 64, 64, 64],
        channels=32,
        in_stride=4,
        max_depth=10.0,
        loss_decode=dict(type='SiLogLoss')),
    test_cfg=dict(mode='whole'))

val_evaluator = dict(type='AffineInvariantDepthMetric', min_depth_eval=1e-3,
                     max_depth_eval=10.0, crop_type=None)
test_evaluator = val_evaluator
max_iters = 600
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=200))
