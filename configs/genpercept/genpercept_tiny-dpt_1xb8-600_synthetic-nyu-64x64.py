# Tiny GenPercept depth on the generated NYUv2-format data, on the CPU in minutes:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic --formats nyu
#   python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd
#   python tools/train.py configs/genpercept/genpercept_tiny-dpt_1xb8-600_synthetic-nyu-64x64.py
# The model of genpercept_sd21-dpt (its base, _base_/models/genpercept_sd21-dpt.py) with the
# tiny model's weights and widths, affine-invariant AbsRel / delta1, the CPU schedule.
_base_ = [
    '../_base_/models/genpercept_sd21-dpt.py', '../_base_/models/sd_preprocessors.py',
    '../_base_/datasets/synthetic-nyu_64x64.py', '../_base_/schedules/tiny_cpu.py',
    '../_base_/default_runtime.py'
]

crop_size = (64, 64)
model = dict(
    data_preprocessor=_base_.depth_data_preprocessor,
    backbone=dict(pretrained='checkpoints/tiny-sd'),
    decode_head=dict(in_channels=[32, 64, 64, 64], channels=32, in_stride=4))
val_evaluator = dict(type='AffineInvariantDepthMetric', min_depth_eval=1e-3,
                     max_depth_eval=10.0, crop_type=None)
test_evaluator = val_evaluator
max_iters = 600
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=200))
