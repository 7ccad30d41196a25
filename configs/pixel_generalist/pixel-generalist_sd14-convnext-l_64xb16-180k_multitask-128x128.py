# Fan et al., "Toward a Diffusion-Based Generalist for Dense Vision Tasks" (Sec. 4.1, Table 1):
# one SD-1.4 UNet, in pixel space, jointly on NYUv2 depth, ADE20K semantic, COCO panoptic
# and three restoration sets; ConvNeXt-L (ImageNet-21k) features of the 512x512 image; 128x128
# targets; batch 1024 (64 GPUs x 16), 180k iterations, AdamW 1e-4 after 20k warm-up; DDIM 50.
#   bash tools/dist_train.sh \
#       configs/pixel_generalist/pixel-generalist_sd14-convnext-l_64xb16-180k_multitask-128x128.py 8
# Weights: SD-1.4 in diffusers format in checkpoints/stable-diffusion-v1-4 and mmpretrain's
# ConvNeXt-L ImageNet-21k checkpoint (see the model base). Data: see the data base.
_base_ = [
    '../_base_/models/pixel_generalist_sd14-convnext-l.py',
    '../_base_/datasets/multitask_nyu-ade-cocopanoptic-restoration.py',
    '../_base_/schedules/pixel_generalist_180k.py', '../_base_/default_runtime.py'
]

crop_size = _base_.cond_size
model = dict(
    tasks=dict(
        # the instructions of Fig. 3 where the paper shows them; depth's and the panoptic
        # semantic pass's are not shown (open: named like the others; the panoptic pass needs
        # its own, since its 133 COCO classes have another codebook than ADE20K's 150)
        depth=dict(instruction='Performance depth estimation',
                   codec=dict(type='QuantizedDepthCodec', min_depth=0.0, max_depth=10.0)),
        semantic=dict(instruction='Performance semantic segmentation',
                      codec=dict(type='PainterClassCodec', num_classes=150)),
        panoptic=dict(
            instruction='Performance panoptic semantic segmentation',
            codec=dict(type='PainterClassCodec', num_classes=133),
            instance_instruction='Performance instance segmentation',
            # open: N is "the maximum number of instances a single training image can
            # contain", not given as a number; 100 here (the codec refuses, naming the
            # count, an image with more: raise it to your data's maximum)
            instance_codec=dict(type='InstanceColorCodec', max_instances=100),
            num_things=80),
        denoise=dict(instruction='Performance image restoration denoising',
                     codec=dict(type='ImageCodec')),
        derain=dict(instruction='Performance image restoration deraining',
                    codec=dict(type='ImageCodec')),
        lowlight=dict(instruction='Performance image restoration light enhancement',
                      codec=dict(type='ImageCodec'))))
