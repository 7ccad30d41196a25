# Runtime shared by the mmseg-based configs. The scope stays mmseg's own; mmgeneralist's
# modules are found through custom_imports (see mmgeneralist/registry.py).
default_scope = 'mmseg'
custom_imports = dict(imports=['mmgeneralist'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
# mmseg's SegLocalVisualizer, drawing input | ground truth | prediction enlarged, with a legend
visualizer = dict(type='ReadableSegVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
tta_model = dict(type='SegTTAModel')
