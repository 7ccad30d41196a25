# Tiny GenPercept stage 2 (UperNet on the stage-1 UNet's features, Sec. 3.2):
#   python tools/train.py configs/genpercept/genpercept_tiny-latent_1xb8-300_synthetic-ade-64x64.py
#   python tools/train.py configs/genpercept/genpercept_tiny-upernet_1xb8-600_synthetic-ade-64x64.py
_base_ = ['./genpercept_tiny-latent_1xb8-300_synthetic-ade-64x64.py']

load_from = 'work_dirs/genpercept_tiny-latent_1xb8-300_synthetic-ade-64x64/iter_300.pth'
model = dict(
    backbone=dict(outputs='features'),
    decode_head=dict(_base_.stage2_head, _delete_=True))  # replaces stage 1's VAE head
max_iters = 600
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=200))
