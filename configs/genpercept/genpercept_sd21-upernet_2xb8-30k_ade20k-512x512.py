# GenPercept two-stage semantic segmentation, stage 2 (Xu et al., Sec. 3.2): UperNet on the
# multi-level features of the UNet fine-tuned in stage 1, trained with cross-entropy.
# Train stage 1 first; its last checkpoint is loaded here (the backbone's weights; the
# stage-1 VAE head's keys are reported as unused):
#   bash tools/dist_train.sh configs/genpercept/genpercept_sd21-latent_2xb8-30k_ade20k-512x512.py 2
#   bash tools/dist_train.sh configs/genpercept/genpercept_sd21-upernet_2xb8-30k_ade20k-512x512.py 2
_base_ = ['./genpercept_sd21-latent_2xb8-30k_ade20k-512x512.py']

load_from = 'work_dirs/genpercept_sd21-latent_2xb8-30k_ade20k-512x512/iter_30000.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(outputs='features'),
    decode_head=dict(
        _delete_=True,
        type='UPerHead',
        in_channels=[320, 640, 1280, 1280],  # SD-2.1's up-block widths, strides 8-64
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
