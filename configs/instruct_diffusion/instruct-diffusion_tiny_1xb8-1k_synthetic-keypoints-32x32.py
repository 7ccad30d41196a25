# The tiny InstructDiffusion editor scored on keypoints alone, in mmpose's runner with mmpose's
# own CocoMetric (coco/AP). Model, schedule and training mixture are the tiny multi-task
# config's (inherited), so one checkpoint serves this config and that one:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic \
#       --formats coco_keypoints ade refcoco restoration
#   python tools/train.py \
#     configs/instruct_diffusion/instruct-diffusion_tiny_1xb8-1k_synthetic-keypoints-32x32.py
#   python tools/test.py \
#     configs/instruct_diffusion/instruct-diffusion_tiny_1xb8-1k_synthetic-keypoints-32x32.py \
#     work_dirs/instruct-diffusion_tiny_1xb8-1k_synthetic-multitask-32x32/iter_1000.pth
# Validation asks for every keypoint of each ground-truth box's 32x32 crop
# (AllKeypointsInstruction, one keypoint per edit at this size: the tiny base's choice).
_base_ = ['./instruct-diffusion_tiny_1xb8-1k_synthetic-multitask-32x32.py']

default_scope = 'mmpose'
crop_size = (32, 32)
# the mixture's mmseg data sets keep mmseg's transforms under mmpose's default scope
train_dataloader = dict(
    dataset=dict(datasets=dict(semantic=dict(_scope_='mmseg'), lowlight=dict(_scope_='mmseg'))))
# the multi-task validation's keypoint data set, alone (it builds in mmpose's scope)
val_dataloader = dict(dataset=dict(_base_.val_dataloader.dataset.datasets.keypoint,
                                   _delete_=True))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=_base_.data_root + '/coco_keypoints/annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
# mmpose's runtime (_base_/default_runtime_mmpose.py): its visualizer and visualization hook
visualizer = dict(type='PoseLocalVisualizer')
default_hooks = dict(visualization=dict(type='PoseVisualizationHook', enable=False))
