# GenPercept two-stage semantic segmentation, stage 2 (Xu et al., Sec. 3.2): UperNet on the
# multi-level features of the UNet fine-tuned in stage 1, trained with cross-entropy.
# Train stage 1 first; its last checkpoint is loaded here (the backbone's weights; the
# stage-1 VAE head's keys are reported as unused):
#   bash tools/dist_train.sh configs/genpercept/genpercept_sd21-latent_2xb8-30k_ade20k-512x512.py 2
#   bash tools/dist_train.sh configs/genpercept/genpercept_sd21-upernet_2xb8-30k_ade20k-512x512.py 2
_base_ = ['./genpercept_sd21-latent_2xb8-30k_ade20k-512x512.py']

load_from = 'work_dirs/genpercept_sd21-latent_2xb8-30k_ade20k-512x512/iter_30000.pth'
model = dict(
    backbone=dict(outputs='features'),
    decode_head=dict(_base_.stage2_head, _delete_=True))  # replaces stage 1's VAE head
