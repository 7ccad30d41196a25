# VPD (Zhao et al., ICCV 2023) with Stable Diffusion 1.5 and Semantic FPN, for ADE20K: the
# UNet once on the image latent, conditioned on the 150 class prompts through the text
# adapter, its decoder features with the averaged cross-attention maps concatenated
# (Sec. 3.2-3.3), then mmseg's FPN neck and FPNHead. As VPD's released code ran it (the
# backbone's defaults; the paper's readings are options, see DiffusionUNetBackbone): t = 1
# (the text: t = 0), the latent unscaled, ldm's output blocks 1, 4, 7 and the last output,
# maps at 32 and 16 (A32), so the released 53.7-mIoU neck [320, 790, 1430, 1280] fits.
sd_pretrained = 'checkpoints/stable-diffusion-v1-5'
unet_widths = [320, 640, 1280, 1280]  # SD-1.5's up-block widths, strides 8, 16, 32, 64
num_classes = 150
# maps at 32 and 16 at 512 px: the released max_attn_size = latent / 2 (vpd/models.py);
# (0, 1, 2) is the A64 variant (Table 2)
attn_map_levels = (1, 2)
# each level: the UNet's width, plus one attention-map channel per class where maps are kept
feature_widths = [w + num_classes * (i in attn_map_levels) for i, w in enumerate(unet_widths)]
model = dict(
    type='DiffusionEncoderDecoder',
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained=sd_pretrained,
        class_names='ADE20KDataset',  # the 150 names of mmseg's ADE20K METAINFO
        prompt_template='a photo of a {}',  # Sec. 3.2
        timestep=1,  # released segmentation/models/vpd_seg.py (Sec. 3.2's text: t = 0)
        adapter_gamma=1e-4,  # Sec. 4
        attn_map_levels=attn_map_levels),
    neck=dict(type='FPN', in_channels=feature_widths, out_channels=256, num_outs=4),
    decode_head=dict(
        type='FPNHead',
        in_channels=[256, 256, 256, 256],
        in_index=[0, 1, 2, 3],
        feature_strides=[8, 16, 32, 64],  # SD's 8x VAE, then the UNet's three downsamplings
        channels=256,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
