# Tiny VPD on the generated ADE20K-format data, on the CPU in minutes:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic
#   python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd
#   python tools/train.py configs/vpd/vpd_tiny-fpn_1xb8-1k_synthetic-ade-64x64.py
# The model of vpd_sd15-fpn (its base, _base_/models/vpd_sd15-fpn.py) with the tiny model's
# weights and widths, on mmseg's ADE20KDataset with the generated classes, the CPU schedule.
_base_ = [
    '../_base_/models/vpd_sd15-fpn.py', '../_base_/models/sd_preprocessors.py',
    '../_base_/datasets/synthetic-ade_64x64.py', '../_base_/schedules/tiny_cpu.py',
    '../_base_/default_runtime.py'
]

crop_size = (64, 64)
num_classes = len(_base_.class_names)
unet_widths = [32, 64, 64, 64]  # the tiny UNet's; its VAE downsamples 4x: strides 4 ... 32
model = dict(
    data_preprocessor=_base_.seg_data_preprocessor,
    backbone=dict(pretrained='checkpoints/tiny-sd', class_names=_base_.class_names),
    neck=dict(
        in_channels=[
            w + num_classes * (i in _base_.attn_map_levels) for i, w in enumerate(unet_widths)
        ],
        out_channels=32),
    decode_head=dict(
        in_channels=[32, 32, 32, 32],
        feature_strides=[4, 8, 16, 32],
        channels=32,
        dropout_ratio=0.0,
        num_classes=num_classes,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
    test_cfg=dict(_delete_=True, mode='whole'))
