"""The pixel-space diffusion generalist of Fan et al. ("Toward a Diffusion-Based Generalist for
Dense Vision Tasks"): one UNet generates every task's label rendered as an RGB image.

Each task's label is rendered by its colour codec (:mod:`mmgeneralist.codecs`) at the target
resolution; a diffusers ``UNet2DConditionModel`` (SD-1.4 weights when given) denoises it in
pixel space, conditioned on an image encoder's multi-scale features concatenated to the noisy
target and on the task instruction through the frozen CLIP text encoder (Sec. 3.2, Fig. 2);
DDIM (or any diffusers scheduler) samples it and the codec decodes it back into the field
that the task's upstream metric reads. The paper has no released code: every choice it leaves
open is marked "open:" below and listed in ``configs/pixel_generalist/README.md``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from torch import nn

from ...codecs import InstanceColorCodec, merge_panoptic
from ...diffusion.conditioning import InstructionContext
from ...diffusion.loading import check_pretrained, load_text_encoder, load_unet
from ...diffusion.lora import add_lora
from ...diffusion.sampling import build_scheduler, denoise, seeded_generators
from ...diffusion.unet_surgery import remove_outermost_self_attention, reshape_unet_io
from ...registry import build_codec, register

#: Stable Diffusion's training noise schedule (its ``scheduler_config.json``), as a DDPM
#: config; the generalist fine-tunes SD-1.4 with it (open: the paper names no schedule).
SD_NOISE_SCHEDULE = dict(type='DDPMScheduler', num_train_timesteps=1000,
                         beta_schedule='scaled_linear', beta_start=0.00085, beta_end=0.012)

#: The data-sample field a prediction goes to, from the codec's ground-truth field.
PRED_FIELDS = dict(gt_sem_seg='pred_sem_seg', gt_depth_map='pred_depth_map',
                   gt_image='pred_image')


class _Pass:
    """One generation: an instruction and the codec that renders its target."""

    def __init__(self, instruction: str, codec):
        if not isinstance(instruction, str) or not instruction.strip():
            raise ValueError(f'an instruction must be a non-empty string; got {instruction!r}')
        self.instruction = instruction
        self.codec = build_codec(codec)


class _Task:
    """A task: one pass, or (panoptic) a semantic pass and an instance pass merged.

    Args:
        instruction / codec: the (semantic) pass.
        instance_instruction / instance_codec: the instance pass of a panoptic task.
        num_things: panoptic: labels ``0 .. num_things - 1`` are things (mmdet's order).
    """

    def __init__(self, name: str, instruction: str, codec: dict,
                 instance_instruction: str | None = None, instance_codec: dict | None = None,
                 num_things: int | None = None, min_instance_area: int = 1):
        self.name = name
        self.passes = [_Pass(instruction, codec)]
        self.panoptic = instance_instruction is not None
        if self.panoptic:
            if instance_codec is None or num_things is None:
                raise ValueError(f'task {name!r}: a panoptic task needs instance_codec and '
                                 'num_things as well as instance_instruction')
            self.passes.append(_Pass(instance_instruction, instance_codec))
            if not isinstance(self.passes[1].codec, InstanceColorCodec):
                raise TypeError(f'task {name!r}: instance_codec must be an InstanceColorCodec')
            self.num_things = num_things
            self.min_instance_area = min_instance_area


@register('models')
class PixelDiffusionGeneralist(BaseSegmentor):
    """Depth, semantic, panoptic and restoration as conditional image generation in pixels.

    Args:
        pretrained: a diffusers-format folder (or hub id) whose ``unet/``, ``text_encoder/``
            and ``tokenizer/`` are used (SD-1.4 in the paper, Sec. 4.1); the VAE is not.
        tasks: task name -> ``dict(instruction=..., codec=dict(type=...))``; a panoptic
            task adds ``instance_instruction``, ``instance_codec`` and ``num_things``.
            Each data sample's ``task`` metainfo (set by
            :class:`~mmgeneralist.datasets.MultiTaskDataset`) picks its task.
        image_encoder: an mmpretrain backbone config returning multi-scale features, e.g.
            ``dict(type='ConvNeXt', arch='large', out_indices=(0, 1, 2, 3),
            gap_before_final_norm=False, init_cfg=...)`` (ConvNeXt-L ImageNet-21k, Sec. 4.1).
        conditioning: ``'features'``: the encoder's features, each resized (bilinearly) to
            the target size and concatenated to the noisy target (Sec. 3.2); ``'image'``: the
            raw image resized to the target size instead, the "direct concat." baseline of
            Table 3 (no encoder).
        target_size: ``(h, w)`` of the generated targets (128x128 in Sec. 4.1, while the
            conditioning image is 512x512).
        signal_scale: ``b`` in ``x_t = sqrt(g) b x_0 + sqrt(1 - g) eps`` (Table 6: 0.5 best;
            the ablations' default rows match b = 0.3).
        noise_scheduler: the training noise schedule (a diffusers scheduler config); its
            ``prediction_type`` is what the UNet predicts (SD's ``'epsilon'`` by default).
        test_scheduler: the sampler, built from the training schedule's config with these
            options: DDIM by default (Sec. 4.4), any diffusers scheduler by ``type``.
        num_inference_steps: sampling steps (50 in Sec. 4.4).
        remove_outer_self_attention: drop the self-attention of the outermost UNet blocks
            (Sec. 3.2, for memory at large pixel targets).
        max_text_length: tokens of an instruction (``None``: the text encoder's, 77).
        seed: seed of the sampling noise; each sample's noise also depends on its image path
            and pass, so results do not depend on batching or order.
        lora: train low-rank adapters instead of the UNet's weights (``peft.LoraConfig``
            arguments, e.g. ``dict(r=8)``; Sec. 5 names parameter-efficient tuning as the
            answer to the memory of full fine-tuning). The re-shaped input and output
            convolutions stay fully trainable.
    """

    #: UNet parts trained in full under ``lora``: re-shaped for the RGB target and the
    #: condition, they have no pretrained weights to keep
    lora_train_also = ('conv_in', 'conv_out')

    def __init__(self,
                 pretrained: str,
                 tasks: dict,
                 image_encoder: dict | None = None,
                 conditioning: str = 'features',
                 target_size: Sequence[int] = (128, 128),
                 signal_scale: float = 0.5,
                 noise_scheduler: dict | None = None,
                 test_scheduler: dict | None = None,
                 num_inference_steps: int = 50,
                 remove_outer_self_attention: bool = True,
                 max_text_length: int | None = None,
                 seed: int = 0,
                 lora: dict | None = None,
                 data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if conditioning not in ('features', 'image'):
            raise ValueError(f"conditioning must be 'features' or 'image'; got {conditioning!r}")
        if conditioning == 'features' and image_encoder is None:
            raise ValueError("conditioning='features' needs an image_encoder config (e.g. "
                             "mmpretrain's ConvNeXt); conditioning='image' needs none")
        if not tasks:
            raise ValueError('tasks is empty: give at least one task, e.g. '
                             "dict(semantic=dict(instruction='Performance semantic "
                             "segmentation', codec=dict(type='PainterClassCodec', "
                             'num_classes=150)))')
        if not 0 < signal_scale <= 1:
            raise ValueError(f'signal_scale must be in (0, 1]; got {signal_scale}')
        if num_inference_steps < 1:
            raise ValueError(f'num_inference_steps must be >= 1; got {num_inference_steps}')
        self.tasks = {name: _Task(name, **dict(spec)) for name, spec in tasks.items()}
        self.conditioning = conditioning
        self.target_size = tuple(int(s) for s in target_size)
        self.signal_scale = float(signal_scale)
        self.num_inference_steps = num_inference_steps
        self.seed = seed

        pretrained = check_pretrained(pretrained, ('unet', 'text_encoder', 'tokenizer'))
        self.image_encoder = _build_image_encoder(image_encoder) if image_encoder else None
        cond_channels = (sum(self.image_encoder.channels[i]
                             for i in self.image_encoder.out_indices)
                         if self.image_encoder is not None else 3)
        # open: the features are concatenated as they are (2880 channels for ConvNeXt-L),
        # no projection; the input convolution keeps SD's weights of its first 3 (of 4
        # latent) channels for the RGB target, zero for the features (reshape_unet_io).
        self.unet = reshape_unet_io(load_unet(pretrained), in_channels=3 + cond_channels,
                                    out_channels=3, keep_in_channels=3)
        self.removed_self_attention = (remove_outermost_self_attention(self.unet)
                                       if remove_outer_self_attention else [])
        add_lora(self.unet, lora, train_also=self.lora_train_also)
        instructions = [p.instruction for t in self.tasks.values() for p in t.passes]
        self.text = InstructionContext(*load_text_encoder(pretrained), instructions,
                                       max_text_length)
        self.noise_scheduler = build_scheduler(noise_scheduler or SD_NOISE_SCHEDULE)
        self.test_scheduler = self.build_sampler(test_scheduler)

    def build_sampler(self, cfg: dict | None = None):
        """A sampler (DDIM by default) on the training noise schedule, clipping its x0
        estimates to ``[-b, b]`` where it can (``cfg`` may override that)."""
        cfg = {'clip_sample': True, 'clip_sample_range': self.signal_scale,
               **(cfg or dict(type='DDIMScheduler'))}
        return build_scheduler(cfg, base_config=self.noise_scheduler.config)

    # ------------------------------------------------------------------ conditioning
    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """The image conditioning at the target size: ``(B, C, h, w)``."""
        if self.image_encoder is None:
            return F.interpolate(inputs, self.target_size, mode='bilinear', antialias=True,
                                 align_corners=False)
        feats = self.image_encoder(inputs)
        return torch.cat([F.interpolate(f, self.target_size, mode='bilinear',
                                        align_corners=False) for f in feats], 1)

    def _task(self, sample) -> _Task:
        name = sample.metainfo.get('task')
        if name not in self.tasks:
            raise ValueError(
                f'data sample of {sample.metainfo.get("img_path", "?")!r} has task {name!r}, '
                f'not one of the model\'s tasks {list(self.tasks)}: wrap the data sets in a '
                "MultiTaskDataset whose keys are the model's task names")
        return self.tasks[name]

    def _target(self, codec, sample) -> tuple[torch.Tensor, torch.Tensor]:
        """The sample's label rendered at the target size, and its loss weights."""
        label = codec.labels([sample])
        if isinstance(codec, InstanceColorCodec):
            masks = [F.interpolate(m[None].float(), self.target_size, mode='nearest')[0] > 0.5
                     if len(m) else m.new_zeros((0, *self.target_size)) for m in label]
            return codec.encode(masks), torch.ones(1, 1, *self.target_size)
        if codec.label_field == 'gt_image':  # an image (uint8 as packed): area-like resize
            label = F.interpolate(label.float(), self.target_size, mode='bilinear',
                                  antialias=True, align_corners=False)
        else:  # labels and depth: nearest, so that no class or invalid pixel is blended
            label = F.interpolate(label.float(), self.target_size, mode='nearest')
            label = label if codec.label_field == 'gt_depth_map' else label.round().long()
        return codec.encode(label), codec.weights(label)

    # ------------------------------------------------------------------ training
    def loss(self, inputs: torch.Tensor, data_samples: Sequence) -> dict:
        cond = self.extract_feat(inputs)
        targets, weights, texts, names = [], [], [], []
        for sample in data_samples:
            task = self._task(sample)
            # a panoptic sample trains one of its two passes, chosen at random: hence its
            # double sampling weight in Sec. 4.1 ("a combination of semantic and instance")
            p = task.passes[int(torch.randint(len(task.passes), ()))]
            try:
                rgb, w = self._target(p.codec, sample)
            except ValueError as err:  # e.g. a class id outside the codebook: name the file
                meta = sample.metainfo
                where = meta.get('seg_map_path') or meta.get('depth_map_path') or \
                    meta.get('gt_img_path') or meta.get('img_path', '?')
                raise ValueError(f'task {task.name!r}, {where}: {err}') from err
            targets.append(rgb)
            weights.append(w)
            texts.append(p.instruction)
            names.append(task.name)
        x0 = torch.cat(targets).to(cond) * self.signal_scale
        w = torch.cat(weights).to(cond)
        noise = torch.randn_like(x0)
        t = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (len(x0), ),
                          device=x0.device)
        xt = self.noise_scheduler.add_noise(x0, noise, t)
        pred = self.unet(torch.cat([xt, cond], 1), t,
                         encoder_hidden_states=self.text(len(texts), texts=texts)).sample
        kind = self.noise_scheduler.config.prediction_type
        target = dict(epsilon=noise, sample=x0).get(kind)
        if target is None:
            target = self.noise_scheduler.get_velocity(x0, noise, t)
        err = ((pred - target).square() * w).sum((1, 2, 3)) / (3 * w.sum((1, 2, 3))).clamp_min(1)
        losses = dict(loss_diffusion=err.mean())
        for name in dict.fromkeys(names):  # logged per task, not summed into the loss
            losses[f'mse_{name}'] = err[[n == name for n in names]].mean().detach()
        return losses

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def generate(self, cond: torch.Tensor, instructions: Sequence[str],
                 keys: Sequence[str], num_inference_steps: int | None = None,
                 progress: bool | None = None) -> torch.Tensor:
        """Sample targets for conditioning ``cond`` and ``instructions``: ``(B, 3, h, w)`` in
        [-1, 1]. ``keys`` seed each sample's noise (with :attr:`seed`)."""
        from diffusers.utils.torch_utils import randn_tensor

        # one CPU generator per sample, for its initial noise and any noise a step adds
        generators = seeded_generators(self.seed, keys)
        noise = randn_tensor((len(keys), 3, *self.target_size), generator=generators,
                             device=cond.device, dtype=cond.dtype)
        context = self.text(len(instructions), texts=list(instructions))
        x = denoise(lambda x, t: self.unet(torch.cat([x, cond], 1), t,
                                           encoder_hidden_states=context).sample,
                    self.test_scheduler, noise, num_inference_steps or self.num_inference_steps,
                    generators, progress)
        return (x / self.signal_scale).clamp(-1, 1)

    def predict(self, inputs: torch.Tensor, data_samples: Sequence | None = None) -> list:
        if data_samples is None:
            raise ValueError('predict needs data samples with a "task" metainfo')
        cond = self.extract_feat(inputs)
        jobs = [(i, k) for i, s in enumerate(data_samples)
                for k in range(len(self._task(s).passes))]
        rgb = self.generate(
            cond[[i for i, _ in jobs]],
            [self._task(data_samples[i]).passes[k].instruction for i, k in jobs],
            [f'{data_samples[i].metainfo.get("img_path", i)}#{k}' for i, k in jobs])
        outputs = {job: rgb[n:n + 1] for n, job in enumerate(jobs)}
        for i, sample in enumerate(data_samples):
            task = self._task(sample)
            size = tuple(sample.metainfo.get('ori_shape', self.target_size))[:2]
            decoded = [_resize(p.codec.decode(outputs[i, k]), size)
                       for k, p in enumerate(task.passes)]
            field = PRED_FIELDS[task.passes[0].codec.label_field]
            if field == 'pred_depth_map':
                # 0 m is "missing" in NYUv2 and log metrics need a positive depth: clamp at
                # 1 mm, as mmseg's depth heads clamp at their min_depth
                decoded[0] = decoded[0].clamp_min(1e-3)
            if not task.panoptic:
                sample.set_field(PixelData(data=decoded[0][0]), field)
                continue
            semantic, instances = decoded[0][0, 0], decoded[1][0, 0]
            num_classes = task.passes[0].codec.num_classes
            pan = merge_panoptic(semantic, instances, range(task.num_things), num_classes,
                                 min_area=task.min_instance_area)
            sample.set_field(PixelData(data=semantic[None]), 'pred_sem_seg')
            sample.set_field(PixelData(sem_seg=pan[None]), 'pred_panoptic_seg')
        return list(data_samples)

    def _forward(self, inputs: torch.Tensor, data_samples: Sequence | None = None):
        """One denoising call on pure noise at the last training step, with each sample's
        first instruction (tensor mode, for shape checks and FLOP counts)."""
        cond = self.extract_feat(inputs)
        texts = ([self._task(s).passes[0].instruction for s in data_samples] if data_samples
                 else [next(iter(self.tasks.values())).passes[0].instruction] * len(inputs))
        x = torch.zeros(len(inputs), 3, *self.target_size).to(cond)
        t = torch.full((len(inputs), ), self.noise_scheduler.config.num_train_timesteps - 1,
                       device=cond.device)
        return self.unet(torch.cat([x, cond], 1), t,
                         encoder_hidden_states=self.text(len(texts), texts=texts)).sample

    def encode_decode(self, inputs, batch_data_samples):
        raise NotImplementedError('PixelDiffusionGeneralist generates its outputs: call '
                                  'predict() (or the runner\'s test/val loop)')

    def train(self, mode: bool = True):
        super().train(mode)
        self.text.train(mode)  # keeps the frozen text encoder in eval mode
        return self


def _resize(decoded: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Decoded labels ``(1, h, w)`` (nearest) or values ``(1, C, h, w)`` (bilinear) at
    ``size``, as ``(1, C, H, W)``."""
    if not decoded.is_floating_point():
        return F.interpolate(decoded[:, None].float(), size, mode='nearest').long()
    return F.interpolate(decoded.float(), size, mode='bilinear', align_corners=False)


def _build_image_encoder(cfg: dict) -> nn.Module:
    """An mmpretrain backbone (registered by importing ``mmpretrain.models``)."""
    import mmpretrain.models  # noqa: F401  (registers the backbones)
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    cfg = dict(cfg, _scope_='mmpretrain')  # built in mmpretrain's scope, whatever the config's
    if cfg['type'].startswith('mmpretrain.'):
        cfg['type'] = cfg['type'][len('mmpretrain.'):]
    if torch.empty(0).is_meta:
        # mmpretrain backbones read values while building (ConvNeXt's drop-path rates):
        # build on the CPU, then move to the meta device of a shape-only run
        with torch.device('cpu'):
            return PRETRAIN_MODELS.build(cfg).to('meta')
    return PRETRAIN_MODELS.build(cfg)
