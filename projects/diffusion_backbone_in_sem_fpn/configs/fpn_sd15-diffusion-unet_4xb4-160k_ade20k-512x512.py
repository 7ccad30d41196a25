# mmseg's own Semantic FPN ADE20K config, unchanged but for its backbone: the plugin pattern.
# The base comes from the installed mmseg package (mim's `mmseg::` prefix); the scope stays
# mmseg's, and custom_imports makes `DiffusionUNetBackbone` resolvable by its plain name.
_base_ = ['mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py']
custom_imports = dict(imports=['mmgeneralist'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    # The VAE expects images in [-1, 1]; SD's UNet needs sides divisible by 64: training
    # crops are padded to 512 (the base's size), test images to a multiple of 64.
    data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3, test_cfg=dict(size_divisor=64)),
    backbone=dict(
        _delete_=True,
        type='DiffusionUNetBackbone',
        pretrained='checkpoints/stable-diffusion-v1-5',
        class_names='ADE20KDataset',  # the 150 ADE20K names, from mmseg's METAINFO
        attn_map_levels=()),  # the UNet's features alone (VPD adds attention maps)
    neck=dict(in_channels=[320, 640, 1280, 1280]),  # SD-1.5 up-block widths
    decode_head=dict(feature_strides=[8, 16, 32, 64]))  # SD's 8x VAE
