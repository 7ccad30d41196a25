# VPD's fast schedule, 8k iterations (Table 2, VPD_A32: attention maps up to 32x32, the
# levels of the 80k config, as in the released code): the schedule scaled linearly from 80k,
# with 150 warm-up iterations (Sec. 4).
_base_ = ['./vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py']

max_iters = 8000
warmup_iters = 150
param_scheduler = [  # the 80k schedule's warm-up and decay, at the new lengths
    dict(_base_.param_scheduler[0], end=warmup_iters),
    dict(_base_.param_scheduler[1], begin=warmup_iters, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
