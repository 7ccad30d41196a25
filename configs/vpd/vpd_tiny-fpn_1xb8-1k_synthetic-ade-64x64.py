# Tiny VPD on the generated ADE20K-format data, on the CPU in minutes:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic
#   python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd
#   python tools/train.py configs/vpd/vpd_tiny-fpn_1xb8-1k_synthetic-ade-64x64.py
# Same model and data path as vpd_sd15-fpn (diffusers-format weights folder, mmseg's
# ADE20KDataset, DiffusionEncoderDecoder + FPN + FPNHead, IoUMetric), at a toy size.
_base_ = ['../_base_/default_runtime.py']

# The classes of the generated world, by their real ADE20K names, in ADE20K order
# (mmgeneralist.datasets.synthetic.SYNTHETIC_ADE_CLASSES): the annotation PNGs use ADE20K's
# 150-class ids, and mmseg's label_map remaps these to 0..K-1.
class_names = ('wall', 'floor', 'person', 'box', 'flower', 'tent', 'ball')
num_classes = len(class_names)
crop_size = (64, 64)
data_root = 'data/synthetic/ade'

data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],  # images to [-1, 1], as the VAE expects
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=64,
    test_cfg=dict(size_divisor=64))  # pad test images too; predictions are cropped back
norm_cfg = dict(type='GN', num_groups=8, requires_grad=True)
model = dict(
    type='DiffusionEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained='checkpoints/tiny-sd',
        class_names=class_names,
        timestep=0,
        attn_map_levels=(0, 1, 2)),  # VPD: maps at every resolution but the lowest
    # the tiny UNet's block widths, plus one cross-attention-map channel per class
    neck=dict(
        type='FPN',
        in_channels=[32 + num_classes, 64 + num_classes, 64 + num_classes, 64],
        out_channels=32,
        num_outs=4),
    decode_head=dict(
        type='FPNHead',
        in_channels=[32, 32, 32, 32],
        in_index=[0, 1, 2, 3],
        feature_strides=[4, 8, 16, 32],
        channels=32,
        dropout_ratio=0.0,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
dataset_type = 'ADE20KDataset'
metainfo = dict(classes=class_names)
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# AdamW as in VPD (Sec. 4), the UNet at 1/10 of the base learning rate; a larger base lr
# because the tiny model starts from random weights.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=1e-3),
    paramwise_cfg=dict(custom_keys={'backbone.unet': dict(lr_mult=0.1)}),
    clip_grad=None)
max_iters = 1000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=250, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0)
