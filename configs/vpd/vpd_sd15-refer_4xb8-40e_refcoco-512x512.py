# VPD referring image segmentation with Stable Diffusion 1.5 on RefCOCO (Zhao et al., ICCV 2023,
# Sec. 3.4 and Sec. 4 "Referring Image Segmentation", Table 3: 73.25 oIoU on RefCOCO val):
# the referring expression is the UNet's text context (Sec. 3.4), LAVT's simple convolutional
# head fuses the features (Sec. 4), cross-entropy loss (Sec. 3.4), 40 epochs, total batch 32
# (4 GPUs x 8), AdamW, lr 5e-5, weight decay 0.01 (Sec. 4); one expression drawn at random
# per training sample, every expression evaluated (Sec. 4), overall IoU (mmdet's RefSegMetric
# cIoU) on the val split. Model: _base_/models/vpd_sd15-refer.py; data:
# _base_/datasets/refcoco.py.
#   bash tools/dist_train.sh configs/vpd/vpd_sd15-refer_4xb8-40e_refcoco-512x512.py 4
# Weights: a diffusers-format SD-1.5 folder in checkpoints/stable-diffusion-v1-5.
#
# Inferred, not stated in the paper:
# - "40 epochs" are passes over the 42,404 training objects (refs): the released loader
#   (refer/data/dataset_refer_clip.py, LAVT's) yields objects, and so does our training set
#   (RefCocoObjectsDataset); the schedule is counted in iterations: 40 x 42,404 / 32.
# - LAVT's poly learning-rate decay (power 0.9, per iteration, no warm-up); one learning rate
#   for all parameters (the paper gives one).
_base_ = [
    '../_base_/models/vpd_sd15-refer.py', '../_base_/models/sd_preprocessors.py',
    '../_base_/datasets/refcoco.py', '../_base_/default_runtime_mmdet.py'
]

model = dict(data_preprocessor=_base_.det_data_preprocessor)

refs_per_epoch = 42404  # RefCOCO (UNC) training objects
iters_per_epoch = refs_per_epoch // 32  # 1325 at a total batch of 32
max_iters = 40 * iters_per_epoch  # 40 epochs (Sec. 4)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-5, betas=(0.9, 0.999), weight_decay=0.01),  # Sec. 4
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=5 * iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5 * iters_per_epoch,
                    max_keep_ckpts=3, save_best='cIoU', rule='greater'))
log_processor = dict(by_epoch=False)
