# InstructDiffusion's schedule (Sec. 4.1): learning rate fixed at 1e-4, EMA rate 0.9999, batch
# 3072 (48 GPUs x 64: the released configs/instruct_diffusion.yaml has batch_size 64 per GPU),
# 200 epochs. The released config: AdamW with weight decay 0.01, a LambdaLinearScheduler with
# no warm-up (warm_up_steps [0], f_max = f_min = 1: constant), no gradient clipping, fp16
# (DeepSpeed). Here: fp32 OptimWrapper (`--amp` for mmengine's AmpOptimWrapper on GPUs).
# open: the paper's epoch is not defined in samples; an epoch is read as one pass over Table
# 1's effective training samples of the tasks trained here (keypoints 245k, segmentation 239k,
# enhancement 46k: 530k; editing's 425k is not in this mixture), so 200 epochs at batch 3072
# are 200 x 530,000 / 3072 = 34,505 iterations (each task sees the samples the paper's did).
effective_samples = 245000 + 239000 + 46000  # Table 1, without image editing
batch_size = 3072  # 48 x 64
max_iters = 200 * effective_samples // batch_size  # 34505
val_interval = 5000  # open: not given
optim_wrapper = dict(
    type='OptimWrapper',
    # released yaml: base_learning_rate 1e-4, weight_decay 0.01, optimizer adamw (betas:
    # AdamW's defaults), clip_grad 0.0 (none)
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01),
    clip_grad=None)
# Sec. 4.1: "the learning rate is fixed to 1e-4"
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=max_iters)]
# Sec. 4.1: EMA rate 0.9999 (mmengine's momentum is 1 - decay); validation and testing use the
# EMA weights (EMAHook swaps them in)
custom_hooks = [dict(type='EMAHook', momentum=1e-4, update_buffers=True, priority=49)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Iteration-based logging and checkpoints: the task configs merge these into their runtime's
# default_hooks (a schedule defining default_hooks itself would clash with the mmdet and mmpose
# runtimes, which have theirs).
iter_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=val_interval,
                    max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
