# Runtime shared by the mmpose-based configs (mmpose's own configs/_base_/default_runtime.py,
# without its SyncBuffersHook custom hook, which the schedules' custom_hooks would clash with,
# and its disabled bad-case hook). The scope stays mmpose's own; mmgeneralist's modules are
# found through custom_imports (see mmgeneralist/registry.py).
default_scope = 'mmpose'
custom_imports = dict(imports=['mmgeneralist'], allow_failed_imports=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='PoseVisualizationHook', enable=False))
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='PoseLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True, num_digits=6)
log_level = 'INFO'
load_from = None
resume = False
