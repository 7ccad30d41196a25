# Tiny GenPercept stage 2 (UperNet on the stage-1 UNet's features, Sec. 3.2):
#   python tools/train.py configs/genpercept/genpercept_tiny-latent_1xb8-300_synthetic-ade-64x64.py
#   python tools/train.py configs/genpercept/genpercept_tiny-upernet_1xb8-600_synthetic-ade-64x64.py
_base_ = ['./genpercept_tiny-latent_1xb8-300_synthetic-ade-64x64.py']

load_from = 'work_dirs/genpercept_tiny-latent_1xb8-300_synthetic-ade-64x64/iter_300.pth'
model = dict(
    backbone=dict(outputs='features'),
    decode_head=dict(
        _delete_=True,
        type='UPerHead',
        in_channels=[32, 64, 64, 64],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=32,
        dropout_ratio=0.0,
        num_classes=7,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
max_iters = 600
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=200))
