# GenPercept (Xu et al., Sec. 3.2) two-stage semantic segmentation with Stable Diffusion 2.1,
# stage 1: the UNet maps the RGB latent in one step (t = 1, empty prompt, Eq. 8) to the latent
# of the class-colour map, supervised with an L2 loss against the VAE-encoded colour map; the
# frozen VAE decoder and the nearest class colour turn the prediction back into labels.
# Stage 2 replaces the head by UperNet on the same UNet's features (``stage2_head``).
sd_pretrained = 'checkpoints/stable-diffusion-2-1'
unet_widths = [320, 640, 1280, 1280]  # SD-2.1's up-block widths, strides 8, 16, 32, 64
num_classes = 150
model = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained=sd_pretrained,
        mode='genpercept',
        attn_map_levels=(),
        outputs='latent'),  # the predicted colour-map latent, -v (Eq. 8)
    decode_head=dict(
        type='VAELatentHead',
        pretrained=sd_pretrained,
        codec=dict(type='ClassColorCodec', num_classes=num_classes)),
    test_cfg=dict(mode='whole'))
# stage 2: UperNet on the stage-1 UNet's multi-level features, cross-entropy
stage2_head = dict(
    type='UPerHead',
    in_channels=unet_widths,
    in_index=[0, 1, 2, 3],
    pool_scales=(1, 2, 3, 6),
    channels=512,
    dropout_ratio=0.1,
    num_classes=num_classes,
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
