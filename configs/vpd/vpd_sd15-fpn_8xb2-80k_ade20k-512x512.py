# VPD with Stable Diffusion 1.5 and a Semantic FPN head on ADE20K (Zhao et al., ICCV 2023,
# Sec. 4 "Semantic Segmentation", Table 1): 80k iterations, global batch 16 (8 GPUs x 2),
# AdamW lr 8e-5, weight decay 1e-3, 1500 warm-up iterations, poly schedule (power 1,
# minimum 0), the UNet at 1/10 of the base lr, slide inference with crop 512 and stride 341.
#   bash tools/dist_train.sh configs/vpd/vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py 8
# Weights: a diffusers-format SD-1.5 folder in checkpoints/stable-diffusion-v1-5.
# Data: ADE20K in mmseg's layout, data/ade/ADEChallengeData2016.
_base_ = ['mmseg::_base_/datasets/ade20k.py', '../_base_/default_runtime.py']

crop_size = (512, 512)
num_classes = 150
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='DiffusionEncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5],  # to [-1, 1], the VAE's input range
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size,
        test_cfg=dict(size_divisor=64)),  # slide crops are 512; pad smaller images to /64
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained='checkpoints/stable-diffusion-v1-5',
        class_names='ADE20KDataset',  # the 150 names of mmseg's ADE20K METAINFO
        prompt_template='a photo of a {}',  # Sec. 3.2
        timestep=0,  # no noise (Sec. 3.2)
        adapter_gamma=1e-4,  # Sec. 4
        attn_map_levels=(0, 1, 2)),  # maps at 64, 32, 16 (not the lowest, Sec. 3.3)
    # SD-1.5 up-block widths, plus one attention-map channel per class where maps are used
    neck=dict(
        type='FPN',
        in_channels=[320 + num_classes, 640 + num_classes, 1280 + num_classes, 1280],
        out_channels=256,
        num_outs=4),
    decode_head=dict(
        type='FPNHead',
        in_channels=[256, 256, 256, 256],
        in_index=[0, 1, 2, 3],
        feature_strides=[8, 16, 32, 64],  # SD's 8x VAE, then the UNet's three downsamplings
        channels=256,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))

train_dataloader = dict(batch_size=2, num_workers=4)  # x 8 GPUs = 16

max_iters = 80000
warmup_iters = 1500
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=8e-5, betas=(0.9, 0.999), weight_decay=1e-3),
    paramwise_cfg=dict(custom_keys={'backbone.unet': dict(lr_mult=0.1)}),
    clip_grad=None)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=warmup_iters),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=warmup_iters,
        end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=8000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=8000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
