# VPD's fastest schedule, 4k iterations (Table 2, VPD_A64: attention maps up to 64x64): the
# schedule scaled linearly from 80k (so 75 warm-up iterations, half of the 8k schedule's 150).
_base_ = ['./vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py']

max_iters = 4000
warmup_iters = 75
model = dict(backbone=dict(attn_map_levels=(0, 1, 2)))  # 64, 32 and 16 at 512 px
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=warmup_iters,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
