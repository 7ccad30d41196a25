# Tiny VPD on the generated ADE20K-format data, on the CPU in minutes:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic
#   python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd
#   python tools/train.py configs/vpd/vpd_tiny-fpn_1xb8-1k_synthetic-ade-64x64.py
# Same model and data path as vpd_sd15-fpn (diffusers-format weights folder, mmseg's
# ADE20KDataset, DiffusionEncoderDecoder + FPN + FPNHead, IoUMetric), at a toy size.
_base_ = [
    '../_base_/datasets/synthetic-ade_64x64.py', '../_base_/schedules/tiny_cpu.py',
    '../_base_/default_runtime.py'
]

num_classes = 7  # len(class_names) of the dataset base
crop_size = (64, 64)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],  # images to [-1, 1], as the VAE expects
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=64,
    test_cfg=dict(size_divisor=64))  # pad test images too; predictions are cropped back
norm_cfg = dict(type='GN', num_groups=8, requires_grad=True)
model = dict(
    type='DiffusionEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained='checkpoints/tiny-sd',
        class_names={{_base_.class_names}},
        timestep=0,
        attn_map_levels=(0, 1, 2)),  # VPD: maps at every resolution but the lowest
    # the tiny UNet's block widths, plus one cross-attention-map channel per class
    neck=dict(
        type='FPN',
        in_channels=[32 + num_classes, 64 + num_classes, 64 + num_classes, 64],
        out_channels=32,
        num_outs=4),
    decode_head=dict(
        type='FPNHead',
        in_channels=[32, 32, 32, 32],
        in_index=[0, 1, 2, 3],
        feature_strides=[4, 8, 16, 32],
        channels=32,
        dropout_ratio=0.0,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
