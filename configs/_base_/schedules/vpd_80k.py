# VPD's ADE20K schedule (Zhao et al., ICCV 2023, Sec. 4): 80k iterations, AdamW lr 8e-5,
# weight decay 1e-3, 1500 warm-up iterations, poly decay (power 1, minimum 0), the UNet at
# 1/10 of the base rate; validation and checkpoints every 8k iterations.
max_iters = 80000
warmup_iters = 1500
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=8e-5, betas=(0.9, 0.999), weight_decay=1e-3),
    # The released config (segmentation/configs/fpn_vpd_sd1-5_512x512_gpu8x2.py) adds
    # custom key 'norm' (decay_mult=0) on ldm names: only the UNet's transformer norms have
    # 'norm' in them there, and mmcv matched 'norm' before 'unet' (equal lengths, sorted by
    # name), so those norms also train at the full rate. The keys below pick the same
    # parameters under diffusers' names (Transformer2DModel.norm, its blocks' norm1-3);
    # mmengine matches the longest key first, so they too take lr_mult 1.
    paramwise_cfg=dict(
        custom_keys={
            'backbone.unet': dict(lr_mult=0.1),
            **{f'attentions.{i}.norm': dict(decay_mult=0.0) for i in range(3)},
            'transformer_blocks.0.norm': dict(decay_mult=0.0),
        }),
    clip_grad=None)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=warmup_iters,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=8000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=8000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
