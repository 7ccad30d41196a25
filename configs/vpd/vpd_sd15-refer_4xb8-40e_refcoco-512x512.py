# VPD referring image segmentation with Stable Diffusion 1.5 on RefCOCO (Zhao et al., ICCV 2023,
# Sec. 3.4 and Sec. 4 "Referring Image Segmentation", Table 3: 73.25 oIoU on RefCOCO val):
# the referring expression is the UNet's text context (Sec. 3.4), LAVT's simple convolutional
# head fuses the features (Sec. 4), cross-entropy loss (Sec. 3.4), 40 epochs, total batch 32
# (4 GPUs x 8), AdamW, lr 5e-5, weight decay 0.01 (Sec. 4); one expression drawn at random
# per training sample, every expression evaluated (Sec. 4), overall IoU (mmdet's RefSegMetric
# cIoU) on the val split.
#   bash tools/dist_train.sh configs/vpd/vpd_sd15-refer_4xb8-40e_refcoco-512x512.py 4
# Weights: a diffusers-format SD-1.5 folder in checkpoints/stable-diffusion-v1-5.
# Data: RefCOCO (UNC split) in mmdet's RefCocoDataset layout, under data/refcoco/:
#   train2014/ (the COCO 2014 training images), instances.json and refs(unc).p (from the
#   refer toolkit's refcoco folder; mmdet's own config keeps them in data/coco/refcoco/).
#
# Inferred, not stated in the paper:
# - "40 epochs" are passes over the 42,404 training objects (refs), as in LAVT's per-object
#   loader that VPD builds on; mmdet's RefCocoDataset yields images (16,994, with all their
#   objects and expressions), so the schedule is counted in iterations: 40 x 42,404 / 32.
# - 40 text tokens per expression: VPD's referring head widths (320, 640 + 40, 1280 + 40, 1280)
#   are SD's up-block widths plus 40 attention-map channels at the two middle levels.
# - LAVT's head width (half the lowest-resolution width), BatchNorm (SyncBN here), its
#   cross-entropy class weights (0.9, 1.1) and its poly learning-rate decay (power 0.9,
#   per iteration, no warm-up) from LAVT's training code; one learning rate for all
#   parameters (the paper gives one).
# - Images resized to 512 x 512 without keeping the aspect ratio (LAVT resizes to a square;
#   Sec. 3.2: "the size of the input image is 512x512"); the predictions are resized back to
#   the original image for the metric. No flip: expressions say "left" and "right".
_base_ = ['../_base_/default_runtime_mmdet.py']

data_root = 'data/refcoco/'
img_scale = (512, 512)
max_text_length = 40
model = dict(
    type='DiffusionReferringSegmentor',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[127.5, 127.5, 127.5],  # to [-1, 1], the VAE's input range
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_size_divisor=64,
        pad_mask=False),
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained='checkpoints/stable-diffusion-v1-5',
        context='sentence',  # the referring expression is the text (Sec. 3.4)
        max_text_length=max_text_length,
        timestep=0,  # no noise (Sec. 3.2)
        adapter_gamma=1e-4,  # Sec. 4
        attn_map_levels=(1, 2)),  # maps at 1/16 and 1/32, not the lowest resolution (Sec. 3.3)
    head=dict(
        type='ReferringMaskHead',  # LAVT's simple decoding head (Sec. 4)
        in_channels=[320, 640 + max_text_length, 1280 + max_text_length, 1280],
        channels=640,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        class_weight=[0.9, 1.1]),  # cross-entropy (Sec. 3.4), LAVT's class weights
    train_expression='random',  # "we randomly choose a language description" (Sec. 4)
    inference_batch_size=8)  # (image, expression) pairs per backbone pass in evaluation

# text_mode='original': every expression of every object; the model draws one per image in
# each training iteration and evaluates all of them (VPD: "evaluate sequentially and
# calculate the mean results", Sec. 4).
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_mask=True, with_bbox=False, with_seg=False,
         with_label=False),
    dict(type='Resize', scale=img_scale, keep_ratio=False),  # resizes the masks too
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    # loaded after Resize: the masks keep the original size, which RefSegMetric compares with
    # the predictions (resized back by the model); it reads them from the metainfo gt_masks
    dict(type='LoadAnnotations', with_mask=True, with_bbox=False, with_seg=False,
         with_label=False),
    dict(type='PackDetInputs', meta_keys=meta_keys + ('gt_masks', )),
]
dataset_type = 'RefCocoDataset'
train_dataloader = dict(
    batch_size=8,  # x 4 GPUs = 32 (Sec. 4)
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='instances.json',
        split_file='refs(unc).p',
        data_prefix=dict(img_path='train2014/'),
        split='train',
        text_mode='original',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='instances.json',
        split_file='refs(unc).p',
        data_prefix=dict(img_path='train2014/'),
        split='val',  # Table 3 reports val; 'testA' / 'testB' for the test splits
        text_mode='original',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='RefSegMetric', metric=['cIoU', 'mIoU'])  # cIoU = VPD's oIoU
test_evaluator = val_evaluator

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
