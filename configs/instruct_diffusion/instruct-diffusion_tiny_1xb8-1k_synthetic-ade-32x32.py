# The tiny InstructDiffusion editor scored on semantic segmentation alone (the generated
# ADE20K-format data), in mmseg's runner with mmseg's own IoUMetric (mIoU). Model, schedule and
# training mixture are the tiny multi-task config's (inherited), so one checkpoint serves this
# config and that one:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic \
#       --formats coco_keypoints ade refcoco restoration
#   python tools/train.py \
#     configs/instruct_diffusion/instruct-diffusion_tiny_1xb8-1k_synthetic-ade-32x32.py
#   python tools/test.py \
#     configs/instruct_diffusion/instruct-diffusion_tiny_1xb8-1k_synthetic-ade-32x32.py \
#     work_dirs/instruct-diffusion_tiny_1xb8-1k_synthetic-multitask-32x32/iter_1000.pth
# Validation asks for every class, one edit each (AllClassesInstruction), at 32x32; the
# predictions are scored at the maps' own 64x64 size.
_base_ = ['./instruct-diffusion_tiny_1xb8-1k_synthetic-multitask-32x32.py']

default_scope = 'mmseg'
crop_size = (32, 32)
# the multi-task validation's semantic data set, alone
val_dataloader = dict(dataset=dict(_base_.val_dataloader.dataset.datasets.semantic,
                                   _delete_=True))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
