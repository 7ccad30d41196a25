# VPD depth with Stable Diffusion 1.5 on NYUv2 (Zhao et al., ICCV 2023, Sec. 4 "Depth
# Estimation", Table 4): random 480x480 crops, lr 5e-4, 25 epochs at batch 24 (24,231
# images / 24 = 1,010 iterations an epoch, so 25k iterations as 4 GPUs x 6), the
# scale-invariant loss (Sec. 3.4), flip + sliding-window test, RMSE and the usual depth
# metrics. The text is each image's scene class (Sec. 3.4); see the model base.
#   bash tools/dist_train.sh configs/vpd/vpd_sd15-dpt_4xb6-25k_nyu-480x480.py 4
# Weights: a diffusers-format SD-1.5 folder in checkpoints/stable-diffusion-v1-5.
# Data: NYUv2 in mmseg's layout (data/nyu/images/{train,test}, annotations/{train,test}).
_base_ = [
    '../_base_/models/vpd_sd15-dpt.py', '../_base_/models/sd_preprocessors.py',
    '../_base_/datasets/nyu_480x480.py', 'mmseg::_base_/schedules/schedule_25k.py',
    '../_base_/default_runtime.py'
]

crop_size = (480, 480)  # padded to 512 for the UNet, as mmseg's VPD pads them
model = dict(data_preprocessor=_base_.depth_data_preprocessor)

# mmseg's NYU pipeline with its Albumentations colour jitter replaced by mmseg's own
# PhotoMetricDistortion (albumentations is not part of our environment)
train_pipeline = [
    _base_.load_steps,
    dict(type='RandomDepthMix', prob=0.25), *_base_.flip_and_crop,
    dict(type='PhotoMetricDistortion'), _base_.pack_inputs
]
train_dataloader = dict(batch_size=6, dataset=dict(pipeline=train_pipeline))  # x 4 = 24

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.1),  # Sec. 4
    # the UNet at 1/100 of the head's rate, as in mmseg's port of VPD depth
    paramwise_cfg=dict(custom_keys={'backbone.unet': dict(lr_mult=0.01)}),
    clip_grad=None)
default_hooks = dict(checkpoint=dict(save_best='rmse', rule='less', max_keep_ckpts=1))
