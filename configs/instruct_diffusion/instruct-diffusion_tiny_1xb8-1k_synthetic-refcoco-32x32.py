# The tiny InstructDiffusion editor scored on referring segmentation alone (the generated
# RefCOCO-format data), in mmdet's runner with mmdet's own RefSegMetric (cIoU, mIoU). Model,
# schedule and training mixture are the tiny multi-task config's (inherited), so one
# checkpoint serves this config and that one:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic \
#       --formats coco_keypoints ade refcoco restoration
#   python tools/train.py \
#     configs/instruct_diffusion/instruct-diffusion_tiny_1xb8-1k_synthetic-refcoco-32x32.py
#   python tools/test.py \
#     configs/instruct_diffusion/instruct-diffusion_tiny_1xb8-1k_synthetic-refcoco-32x32.py \
#     work_dirs/instruct-diffusion_tiny_1xb8-1k_synthetic-multitask-32x32/iter_1000.pth
# Validation asks for the object of every sentence, one edit each (AllSentencesInstruction);
# the masks are scored at the original 64x64 size.
_base_ = ['./instruct-diffusion_tiny_1xb8-1k_synthetic-multitask-32x32.py']

default_scope = 'mmdet'
crop_size = (32, 32)
# the mixture's mmseg data sets keep mmseg's transforms under mmdet's default scope
train_dataloader = dict(
    dataset=dict(datasets=dict(semantic=dict(_scope_='mmseg'), lowlight=dict(_scope_='mmseg'))))
# the multi-task validation's referring data set, alone (it builds in mmdet's scope)
val_dataloader = dict(dataset=dict(_base_.val_dataloader.dataset.datasets.referring,
                                   _delete_=True))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='RefSegMetric', metric=['cIoU', 'mIoU'])
test_evaluator = val_evaluator
# mmdet's runtime (_base_/default_runtime_mmdet.py): its visualizer (ours, drawing each
# expression over input | true mask | predicted mask) and visualization hook
visualizer = dict(type='ReferringVisualizer')
default_hooks = dict(visualization=dict(type='DetVisualizationHook'))
