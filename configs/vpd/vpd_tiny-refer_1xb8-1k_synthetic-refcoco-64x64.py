# Tiny VPD referring segmentation on the generated RefCOCO-format data, on the CPU in minutes:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic --formats refcoco
#   python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd
#   python tools/train.py configs/vpd/vpd_tiny-refer_1xb8-1k_synthetic-refcoco-64x64.py
# Same model and data path as vpd_sd15-refer (diffusers-format weights folder, mmdet's
# RefCocoDataset, DiffusionReferringSegmentor + ReferringMaskHead, RefSegMetric), at a toy
# size, with a larger learning rate (the tiny model starts from random weights) and a heavier
# weight on the object class (see the head).
_base_ = ['../_base_/default_runtime_mmdet.py']

data_root = 'data/synthetic/refcoco'
max_text_length = 40  # tokens per expression; the tiny tokenizer is character-level

model = dict(
    type='DiffusionReferringSegmentor',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[127.5, 127.5, 127.5],  # images to [-1, 1], as the VAE expects
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_size_divisor=64,  # predictions are cropped back to the image
        pad_mask=False),
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained='checkpoints/tiny-sd',
        context='sentence',  # the expression is the text context (VPD Sec. 3.4)
        max_text_length=max_text_length,
        timestep=0,
        attn_map_levels=(1, 2)),
    # The tiny UNet's block widths (32, 64, 64, 64) plus one attention-map channel per token at
    # levels 1 and 2; its VAE downsamples 4x, so the strides are 4, 8, 16, 32 (SD: 8 ... 64).
    head=dict(
        type='ReferringMaskHead',
        in_channels=[32, 64 + max_text_length, 64 + max_text_length, 64],
        channels=32,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        # The generated objects are small (3.8% of the image on average) and an image has
        # about five referable ones, so until the model grounds the expression no pixel has a
        # 50% chance of being the referred object, and plain cross-entropy predicts empty
        # masks for hundreds of iterations. Weighting the object class 10x (below the ~25:1
        # pixel ratio) moves the argmax threshold to p > 1/11: candidate objects come first,
        # and grounding narrows them down with longer training. SD-1.5 uses LAVT's (0.9, 1.1).
        class_weight=[1.0, 10.0]),
    train_expression='random')

# every expression of every image (text_mode='original'); the model draws one per image and
# iteration in training and evaluates all of them (see DiffusionReferringSegmentor)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_mask=True, with_bbox=False, with_seg=False,
         with_label=False),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]  # no flip: expressions say "on the left"
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_mask=True, with_bbox=False, with_seg=False,
         with_label=False),
    # RefSegMetric reads the original-size masks from the metainfo key gt_masks
    dict(type='PackDetInputs', meta_keys=meta_keys + ('gt_masks', )),
]
dataset_type = 'RefCocoDataset'
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
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
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='instances.json',
        split_file='refs(unc).p',
        data_prefix=dict(img_path='train2014/'),
        split='val',
        text_mode='original',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='RefSegMetric', metric=['cIoU', 'mIoU'])
test_evaluator = val_evaluator

# AdamW with weight decay 0.01 and one learning rate for all parameters, as in VPD's
# referring setting (Sec. 4); poly decay; a short warm-up for the random-weight model.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.01),
    clip_grad=None)
max_iters = 1000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=250, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
