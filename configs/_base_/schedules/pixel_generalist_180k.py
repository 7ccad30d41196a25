# Fan et al. Sec. 4.1: AdamW, constant learning rate 1e-4 after a linear warm-up over the first
# 20k of 180k iterations, batch 1024 (the config name says how it is split over GPUs); EMA
# weights are evaluated (mmengine's EMAHook; open: the paper gives no decay, 0.9999 here).
max_iters = 180000
warmup_iters = 20000
optim_wrapper = dict(
    type='OptimWrapper',
    # open: betas and weight decay are not given; AdamW's defaults
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=warmup_iters, end=max_iters),
]
custom_hooks = [dict(type='EMAHook', momentum=1e-4, update_buffers=True, priority=49)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
