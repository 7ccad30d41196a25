# VPD with Stable Diffusion 1.5 and a Semantic FPN head on ADE20K (Zhao et al., ICCV 2023,
# Sec. 4 "Semantic Segmentation", Table 1): 80k iterations, global batch 16 (8 GPUs x 2),
# AdamW lr 8e-5, weight decay 1e-3, 1500 warm-up iterations, poly schedule (power 1,
# minimum 0), the UNet at 1/10 of the base lr, slide inference with crop 512 and stride 341.
#   bash tools/dist_train.sh configs/vpd/vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py 8
# Weights: a diffusers-format SD-1.5 folder in checkpoints/stable-diffusion-v1-5.
# Data: ADE20K in mmseg's layout, data/ade/ADEChallengeData2016.
_base_ = [
    '../_base_/models/vpd_sd15-fpn.py', '../_base_/models/sd_preprocessors.py',
    'mmseg::_base_/datasets/ade20k.py', '../_base_/schedules/vpd_80k.py',
    '../_base_/default_runtime.py'
]

crop_size = (512, 512)
# training crops padded to 512 as in mmseg's ADE20K configs; test images to /64
data_preprocessor = dict(_base_.seg_data_preprocessor, size=crop_size, size_divisor=None)
model = dict(data_preprocessor=data_preprocessor)
# mmseg's ADE20K training pipeline, its two loaders wrapped: unreadable files are logged and
# skipped (at most 1% of them)
train_pipeline = [
    dict(type='SkipBadSamples', transforms=_base_.train_pipeline[:2]), *_base_.train_pipeline[2:]
]
train_dataloader = dict(
    batch_size=2, num_workers=4, dataset=dict(pipeline=train_pipeline))  # x 8 GPUs = 16
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
