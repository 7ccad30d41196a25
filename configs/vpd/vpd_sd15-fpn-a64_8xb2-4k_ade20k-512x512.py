# VPD's fastest schedule, 4k iterations (Table 2, VPD_A64: attention maps up to 64x64, one
# level more than the 80k config's A32): the schedule scaled linearly from 80k (so 75 warm-up
# iterations, half of the 8k schedule's 150).
_base_ = ['./vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py']

attn_map_levels = (0, 1, 2)  # 64x64, 32x32 and 16x16 at 512 px
model = dict(
    backbone=dict(attn_map_levels=attn_map_levels),
    neck=dict(in_channels=[
        w + _base_.num_classes * (i in attn_map_levels) for i, w in enumerate(_base_.unet_widths)
    ]))

max_iters = 4000
warmup_iters = 75
param_scheduler = [  # the 80k schedule's warm-up and decay, at the new lengths
    dict(_base_.param_scheduler[0], end=warmup_iters),
    dict(_base_.param_scheduler[1], begin=warmup_iters, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
