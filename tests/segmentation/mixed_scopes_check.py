"""Build and run an MMDetection and an MMSegmentation model in one process.

Run as ``python mixed_scopes_check.py {det-first|seg-first} WORK_DIR``; the
test runs it in a fresh interpreter per order, because registry state
depends on what was imported and built first. Prints ``OK`` at the end and
raises on any failure.
"""
import os
import os.path as osp
import sys

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope
from PIL import Image

import ropevit_mm  # noqa: F401  (registers the plugin modules)

TEST_CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), 'configs', 'upernet_ropevit-tiny_sfp_fit_coco-semantic.py')
TINY_ARCH = dict(patch_size=14, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=256, num_reg_tokens=4)


def retinanet_cfg() -> dict:
    """RetinaNet with a tiny RoPEViT and a five-level simple feature pyramid (strides 3.5 to 56)."""
    return dict(
        type='RetinaNet',
        data_preprocessor=dict(
            type='DetDataPreprocessor',
            mean=[132.3705, 135.303, 124.3635],
            std=[59.058, 58.752, 65.994],
            bgr_to_rgb=True,
            pad_size_divisor=56),
        backbone=dict(type='RoPEViT', arch=TINY_ARCH, pretrain_size=112),
        neck=dict(type='SimpleFeaturePyramid', in_channels=64, out_channels=32, num_outs=5),
        bbox_head=dict(
            type='RetinaHead',
            num_classes=3,
            in_channels=32,
            stacked_convs=1,
            feat_channels=32,
            anchor_generator=dict(
                type='AnchorGenerator',
                octave_base_scale=4,
                scales_per_octave=3,
                ratios=[0.5, 1.0, 2.0],
                strides=[3.5, 7, 14, 28, 56]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[1.0] * 4),
            # mmdet's and mmseg's CrossEntropyLoss share a name; each scope must get its own.
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1),
            sampler=dict(type='PseudoSampler'),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5),
                      max_per_img=10))


def write_inputs(work_dir: str):
    rng = np.random.default_rng(0)
    image_path = osp.join(work_dir, 'image.jpg')
    label_path = osp.join(work_dir, 'label.png')
    Image.fromarray(rng.integers(0, 256, (150, 200, 3), dtype=np.uint8)).save(image_path)
    label = np.zeros((150, 200), dtype=np.uint8)
    label[30:90, 40:120] = 3
    Image.fromarray(label).save(label_path)
    return image_path, label_path


def check_module(obj, package: str, what: str) -> None:
    module = type(obj).__module__
    if not module.startswith(package + '.'):
        raise AssertionError(f'{what} resolved to {module}.{type(obj).__name__}, expected a {package} class')


def run_detection(image_path: str) -> None:
    from mmdet.registry import MODELS, TRANSFORMS
    from mmdet.utils import register_all_modules
    from mmengine.dataset import Compose, pseudo_collate

    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(ConfigDict(retinanet_cfg()))
        pipeline = Compose([
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', scale=(224, 224), keep_ratio=True),
            dict(type='PackDetInputs'),
        ])
        resize = TRANSFORMS.build(dict(type='Resize', scale=(224, 224)))
    check_module(model, 'mmdet', 'RetinaNet')
    check_module(model.bbox_head, 'mmdet', 'RetinaHead')
    check_module(model.bbox_head.loss_cls, 'mmdet', 'detection CrossEntropyLoss')
    check_module(pipeline.transforms[1], 'mmdet', 'detection LoadAnnotations')
    check_module(pipeline.transforms[2], 'mmdet', 'detection Resize')
    check_module(resize, 'mmdet', 'detection Resize')

    sample = pipeline(dict(img_path=image_path, img_id=0,
                           instances=[dict(bbox=[40.0, 30.0, 120.0, 90.0], bbox_label=1, ignore_flag=0)]))
    batch = pseudo_collate([sample])
    model.train()
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    total, _ = model.parse_losses(losses)
    if not torch.isfinite(total):
        raise AssertionError(f'detection loss is not finite: {losses}')
    total.backward()
    model.eval()
    with torch.no_grad():
        results = model.test_step(batch)
    if results[0].pred_instances.bboxes.shape[-1] != 4:
        raise AssertionError('detection predictions have no boxes')


def run_segmentation(image_path: str, label_path: str) -> None:
    from mmengine.dataset import Compose, pseudo_collate
    from mmseg.registry import MODELS, TRANSFORMS
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(TEST_CONFIG)
    cfg.model.backbone.arch = TINY_ARCH
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
        pipeline = Compose([
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            # The config's training size, which the data preprocessor pads to.
            dict(type='Resize', scale=(112, 112), keep_ratio=False),
            dict(type='PackSegInputs'),
        ])
        resize = TRANSFORMS.build(dict(type='Resize', scale=(224, 224)))
    check_module(model, 'mmseg', 'EncoderDecoder')
    check_module(model.decode_head, 'mmseg', 'UPerHead')
    check_module(model.decode_head.loss_decode, 'mmseg', 'segmentation CrossEntropyLoss')
    check_module(pipeline.transforms[1], 'mmseg', 'segmentation LoadAnnotations')
    check_module(pipeline.transforms[2], 'mmseg', 'segmentation Resize')
    check_module(resize, 'mmseg', 'segmentation Resize')

    sample = pipeline(dict(img_path=image_path, seg_map_path=label_path, reduce_zero_label=False, seg_fields=[]))
    # Two samples, because UPerHead's 1x1 pooling branch has BatchNorm.
    batch = pseudo_collate([sample, sample])
    model.train()
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    total, _ = model.parse_losses(losses)
    if not torch.isfinite(total):
        raise AssertionError(f'segmentation loss is not finite: {losses}')
    total.backward()
    model.eval()
    with torch.no_grad():
        results = model.test_step(batch)
    if tuple(results[0].pred_sem_seg.data.shape[-2:]) != (150, 200):
        raise AssertionError(f'segmentation prediction has shape {tuple(results[0].pred_sem_seg.data.shape)}, '
                             'expected the image size 150x200')


def main() -> None:
    order, work_dir = sys.argv[1], sys.argv[2]
    os.makedirs(work_dir, exist_ok=True)
    torch.manual_seed(0)
    image_path, label_path = write_inputs(work_dir)
    if order == 'det-first':
        run_detection(image_path)
        run_segmentation(image_path, label_path)
        run_detection(image_path)
    elif order == 'seg-first':
        run_segmentation(image_path, label_path)
        run_detection(image_path)
        run_segmentation(image_path, label_path)
    else:
        raise SystemExit(f'order must be det-first or seg-first, got {order}')
    print('OK')


if __name__ == '__main__':
    main()
