# Tiny VPD depth on the generated NYUv2-format data, on the CPU in minutes:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic --formats nyu
#   python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd
#   python tools/train.py configs/vpd/vpd_tiny-dpt_1xb8-600_synthetic-nyu-64x64.py
# The model of vpd_sd15-dpt (its base, _base_/models/vpd_sd15-dpt.py) with the tiny model's
# weights and widths, on mmseg's NYUDataset with generated scenes, the CPU schedule.
_base_ = [
    '../_base_/models/vpd_sd15-dpt.py', '../_base_/models/sd_preprocessors.py',
    '../_base_/datasets/synthetic-nyu_64x64.py', '../_base_/schedules/tiny_cpu.py',
    '../_base_/default_runtime.py'
]

crop_size = (64, 64)
model = dict(
    data_preprocessor=_base_.depth_data_preprocessor,
    backbone=dict(pretrained='checkpoints/tiny-sd'),
    decode_head=dict(
        in_channels=[32, 64, 64, 64],  # the tiny UNet's block widths
        channels=32,
        in_stride=4),  # the tiny VAE downsamples 4x
    test_cfg=dict(_delete_=True, mode='whole'))

max_iters = 600
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=200))
