# GenPercept two-stage semantic segmentation, stage 1 (Xu et al., Sec. 3.2): the UNet maps
# the RGB latent in one step (t = 1, empty prompt, Eq. 8) to the latent of the class colour
# map, supervised with an L2 loss against the VAE-encoded colour map; the frozen VAE decoder
# and the nearest class colour turn the prediction back into labels. Stage 2
# (genpercept_sd21-upernet_2xb8-30k_ade20k-512x512.py) starts from this checkpoint.
#   bash tools/dist_train.sh configs/genpercept/genpercept_sd21-latent_2xb8-30k_ade20k-512x512.py 2
# The paper trains on Hypersim's 40 classes and tests on the ADE20K classes they share,
# without giving a schedule; this config trains on ADE20K's 150 classes with the paper's
# default settings (batch 16, lr 3e-5, linear decay; Sec. 3.5 "Implementation Details"), and
# 30k iterations, our choice.
# Weights: a diffusers-format SD-2.1 folder in checkpoints/stable-diffusion-2-1.
_base_ = ['mmseg::_base_/datasets/ade20k.py', '../_base_/default_runtime.py']

pretrained = 'checkpoints/stable-diffusion-2-1'
crop_size = (512, 512)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,  # rendered black, like any unlabelled pixel
        size=crop_size,
        test_cfg=dict(size_divisor=64)),
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained=pretrained,
        mode='genpercept',
        attn_map_levels=(),
        outputs='latent'),  # the predicted colour-map latent, -v (Eq. 8)
    decode_head=dict(
        type='VAELatentHead',
        pretrained=pretrained,
        target='segmentation',
        num_classes=150),
    test_cfg=dict(mode='whole'))

train_dataloader = dict(batch_size=8)  # x 2 GPUs = 16
max_iters = 30000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-5, betas=(0.9, 0.999), weight_decay=1e-2),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=0, end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=3000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3000, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
