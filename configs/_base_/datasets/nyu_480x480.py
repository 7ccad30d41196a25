# NYUv2 as mmseg's own data-set base sets it up (loaders, flip + sliding-window test,
# DepthMetric), with the training pipeline rebuilt from named parts: mmseg's uses
# Albumentations for colour jitter, which is not in our environment, and unreadable files
# are logged and skipped here. The configs compose their pipelines from these parts (VPD adds
# RandomDepthMix and PhotoMetricDistortion, as mmseg's VPD does; GenPercept neither).
_base_ = ['mmseg::_base_/datasets/nyu.py']

crop_size = (480, 480)
load_steps = dict(type='SkipBadSamples', transforms=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
])
flip_and_crop = [dict(type='RandomFlip', prob=0.5), dict(type='RandomCrop', crop_size=crop_size)]
pack_inputs = dict(
    type='PackSegInputs',
    meta_keys=('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
               'scale_factor', 'flip', 'flip_direction', 'category_id'))
train_pipeline = [load_steps, *flip_and_crop, pack_inputs]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
