# VPD depth with Stable Diffusion 1.5 on NYUv2 (Zhao et al., ICCV 2023, Sec. 4 "Depth
# Estimation", Table 4): random 480x480 crops, lr 5e-4, 25 epochs at batch 24 (24,231
# images / 24 = 1,010 iterations an epoch, so 25k iterations as 4 GPUs x 6), the
# scale-invariant loss (Sec. 3.4), flip + sliding-window test, RMSE and the usual depth
# metrics. The text is each image's scene class ("kitchen", ...; Sec. 3.4), which mmseg's
# NYUDataset parses from the file name and DepthEstimator hands to the backbone.
#   bash tools/dist_train.sh configs/vpd/vpd_sd15-dpt_4xb6-25k_nyu-480x480.py 4
# Weights: a diffusers-format SD-1.5 folder in checkpoints/stable-diffusion-v1-5.
# Data: NYUv2 in mmseg's layout (data/nyu/images/{train,test}, annotations/{train,test}).
_base_ = [
    'mmseg::_base_/datasets/nyu.py', 'mmseg::_base_/schedules/schedule_25k.py',
    '../_base_/default_runtime.py'
]

crop_size = (480, 480)
model = dict(
    type='DepthEstimator',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5],  # to [-1, 1], the VAE's input range
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=0,  # padded depth is 0: missing, ignored by the loss
        size_divisor=64,  # 480 crops go to the UNet padded to 512, as mmseg's VPD pads them
        test_cfg=dict(size_divisor=64)),
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained='checkpoints/stable-diffusion-v1-5',
        class_names='NYUDataset',  # the 27 scene classes of mmseg's NYU METAINFO
        context='image_class',  # one scene prompt per image (Sec. 3.4)
        timestep=0,
        attn_map_levels=()),  # a one-token context has no informative attention map
    decode_head=dict(
        type='DiffusionDepthHead',
        in_channels=[320, 640, 1280, 1280],
        channels=256,
        in_stride=8,
        max_depth=10.0,
        loss_decode=dict(type='SiLogLoss')),
    # flip + sliding windows (Sec. 4); images are padded to 512x640, crops are 512
    test_cfg=dict(mode='slide_flip', crop_size=(512, 512), stride=(160, 160)))

# mmseg's NYU pipeline with its Albumentations colour jitter replaced by mmseg's own
# PhotoMetricDistortion (albumentations is not part of our environment).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='RandomDepthMix', prob=0.25),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PhotoMetricDistortion'),
    dict(
        type='PackSegInputs',
        meta_keys=('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                   'scale_factor', 'flip', 'flip_direction', 'category_id')),
]
train_dataloader = dict(batch_size=6, dataset=dict(pipeline=train_pipeline))  # x 4 = 24

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.1),  # Sec. 4
    # the UNet at 1/100 of the head's rate, as in mmseg's port of VPD depth
    paramwise_cfg=dict(custom_keys={'backbone.unet': dict(lr_mult=0.01)}),
    clip_grad=None)
default_hooks = dict(checkpoint=dict(save_best='rmse', rule='less', max_keep_ckpts=1))
