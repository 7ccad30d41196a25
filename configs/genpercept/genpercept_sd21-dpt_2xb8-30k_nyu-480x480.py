# GenPercept affine-invariant depth with Stable Diffusion 2.1 (Xu et al., Sec. 2.3 and
# Sec. 3.1 "Implementation Details"): one deterministic UNet step on the RGB latent at
# t = 1 with the empty prompt (Eq. 8), the UNet's multi-level features into a DPT decoder,
# only the VAE encoder frozen, batch 16, lr 3e-5 with linear decay, 30k iterations (Sec. 3.5,
# "Key Components Analysis" 2); evaluation aligns each prediction to the ground truth by
# least-squares scale and shift before AbsRel and delta1 (Sec. 3.1).
#   bash tools/dist_train.sh configs/genpercept/genpercept_sd21-dpt_2xb8-30k_nyu-480x480.py 2
# Differences from the paper, because of what mmseg reads: the paper trains on Hypersim and
# Virtual KITTI at 768 px with VNL, HDN, MSE and L1 losses; this config trains on NYUv2
# (mmseg's NYUDataset, 480x480 crops padded to 512) with mmseg's scale-invariant log loss.
# Weights: a diffusers-format SD-2.1 folder in checkpoints/stable-diffusion-2-1.
_base_ = ['mmseg::_base_/datasets/nyu.py', '../_base_/default_runtime.py']

crop_size = (480, 480)
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
        pretrained='checkpoints/stable-diffusion-2-1',
        mode='genpercept',  # t = 1, empty prompt, no adapter (Eq. 8)
        attn_map_levels=()),
    decode_head=dict(
        type='DiffusionDepthHead',
        in_channels=[320, 640, 1280, 1280],  # SD-2.1's up-block widths
        channels=256,
        in_stride=8,
        max_depth=10.0,
        loss_decode=dict(type='SiLogLoss')),
    test_cfg=dict(mode='whole'))  # one step on the whole (padded) image

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(
        type='PackSegInputs',
        meta_keys=('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                   'scale_factor', 'flip', 'flip_direction', 'category_id')),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))  # x 2 = 16
val_evaluator = dict(
    type='AffineInvariantDepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0,
    crop_type='nyu_crop')
test_evaluator = val_evaluator

max_iters = 30000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-5, betas=(0.9, 0.999), weight_decay=1e-2),
    clip_grad=None)
param_scheduler = [  # linear decay (Sec. 3.1)
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=0, end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=3000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3000,
                    save_best='abs_rel', rule='less', max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
