# VPD's fast schedule, 8k iterations (Table 2, VPD_A32: attention maps up to 32x32): the
# schedule scaled linearly from 80k, with 150 warm-up iterations (Sec. 4).
_base_ = ['./vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py']

num_classes = 150
max_iters = 8000
warmup_iters = 150
model = dict(
    backbone=dict(attn_map_levels=(1, 2)),  # 32x32 and 16x16 at 512 px
    neck=dict(in_channels=[320, 640 + num_classes, 1280 + num_classes, 1280]))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=warmup_iters,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
