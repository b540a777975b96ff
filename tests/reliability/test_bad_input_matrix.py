"""One test per row of the bad-input matrix in docs/reliability.md.

Checkpoints, images, annotations and backbone inputs that users get wrong,
each with the outcome the plugin promises.
"""
import json
import math
import os

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import DATASETS
from mmdet.registry import MODELS
from mmengine.runner import Runner
from PIL import Image

from ropevit_mm.checkpoint import CheckpointError
from ropevit_mm.models.backbones import ARCH_SETTINGS, RoPEViT

from ..detection.helpers import cpu_schedule, load_detection_config, set_image_size, shrink_backbone
from ..tiny_training import collect_log_messages
from .helpers import SHAPES_CONFIG, unique_experiment_name

TINY_ARCH = dict(patch_size=14, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_reg_tokens=4)
# Quadrant colours in RGB: top-left, top-right, bottom-left, bottom-right.
QUADRANTS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0))


def tiny_backbone(path):
    model = RoPEViT(arch=dict(TINY_ARCH), init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    return model


# Checkpoints

def test_missing_checkpoint_names_path(tmp_path):
    missing = tmp_path / 'does_not_exist.pth'
    with pytest.raises(FileNotFoundError, match=f'Checkpoint file not found: {missing}'):
        tiny_backbone(missing)


def _truncated(tmp_path):
    full = tmp_path / 'full.pth'
    torch.save(RoPEViT(arch=dict(TINY_ARCH)).state_dict(), full)
    return full.read_bytes()[:full.stat().st_size // 2]


def _jpeg(tmp_path):
    Image.new('RGB', (16, 16), (200, 10, 10)).save(tmp_path / 'photo.jpg')
    return (tmp_path / 'photo.jpg').read_bytes()


@pytest.mark.parametrize('make_content', [_truncated, _jpeg, lambda tmp_path: b''], ids=['truncated', 'jpeg', 'empty'])
def test_unreadable_checkpoint_names_file(tmp_path, make_content):
    path = tmp_path / 'weights.pt'
    path.write_bytes(make_content(tmp_path))
    with pytest.raises(CheckpointError) as error:
        tiny_backbone(path)
    assert f'{path} is not a readable checkpoint' in str(error.value)
    assert 'allowlist' not in str(error.value)


def test_vit_l_into_vit_b_names_first_mismatch(tmp_path):
    """ViT-L weights into ViT-B: the error names the first differing tensor and both shapes."""
    # One ViT-L block gives every ViT-L shape; its block is repeated for the
    # 24 blocks, as expanded zeros that keep the file to a few kilobytes.
    settings = dict(ARCH_SETTINGS['rope_vit_reg4_l14'])
    depth = settings['num_layers']
    one_block = RoPEViT(arch=dict(settings, num_layers=1)).state_dict()
    large = {}
    for key, value in one_block.items():
        names = [key.replace('encoder.block.0.', f'encoder.block.{i}.') for i in range(depth)] \
            if key.startswith('encoder.block.0.') else [key]
        for name in names:
            large[name] = value
    state = {key: torch.zeros(1).expand(value.shape) for key, value in large.items()}
    path = tmp_path / 'vit_l.pth'
    torch.save(state, path)
    model = RoPEViT(arch='rope_vit_reg4_b14', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    first_key = next(iter(model.state_dict()))
    expected_model = tuple(model.state_dict()[first_key].shape)
    expected_checkpoint = tuple(large[first_key].shape)
    assert expected_model != expected_checkpoint
    with pytest.raises(CheckpointError) as error:
        model.init_weights()
    assert (f'shape mismatch at {first_key}: checkpoint {expected_checkpoint}, model rope_vit_reg4_b14 '
            f'{expected_model}') in str(error.value)


@pytest.mark.parametrize('prefix', ['module.', 'backbone.', 'module.backbone.'])
def test_prefixed_state_dict_with_classifier_loads(tmp_path, prefix):
    torch.manual_seed(3)
    source = RoPEViT(arch=dict(TINY_ARCH))
    state = {prefix + key: value for key, value in source.state_dict().items()}
    state[prefix + 'classifier.weight'] = torch.zeros(10, 32)
    state[prefix + 'classifier.bias'] = torch.zeros(10)
    path = tmp_path / 'prefixed.pth'
    torch.save({'meta': {}, 'state_dict': state}, path)
    with collect_log_messages() as messages:
        model = tiny_backbone(path)
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    assert any('ignored 2 classifier keys (classifier.weight, classifier.bias)' in message for message in messages)


# Images and annotations

def quadrant_image(width=112, height=84):
    pixels = np.zeros((height, width, 3), np.uint8)
    rows, cols = height // 2, width // 2
    pixels[:rows, :cols], pixels[:rows, cols:] = QUADRANTS[0], QUADRANTS[1]
    pixels[rows:, :cols], pixels[rows:, cols:] = QUADRANTS[2], QUADRANTS[3]
    return Image.fromarray(pixels)


def save_gray16(image, path):
    cv2.imwrite(str(path), np.array(image.convert('L')).astype(np.uint16) * 257)


def save_exif_rotated(image, path):
    # Orientation 6: a viewer turns the stored pixels 90 degrees clockwise.
    exif = Image.Exif()
    exif[0x0112] = 6
    image.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif.tobytes(), quality=95)


# name -> (writer, colour): colour images keep the quadrant colours, gray ones their luminance.
IMAGE_FORMATS = {
    'grayscale.png': (lambda image, path: image.convert('L').save(path), False),
    'rgba.png': (lambda image, path: image.convert('RGBA').save(path), True),
    'palette.png': (lambda image, path: image.convert('P', palette=Image.Palette.ADAPTIVE).save(path), True),
    'gray16.png': (save_gray16, False),
    'cmyk.jpg': (lambda image, path: image.convert('CMYK').save(path, quality=95), True),
    'exif_rotated.jpg': (save_exif_rotated, True),
}


def write_coco(root, images, annotations, split='train2017'):
    """Write ``annotations/instances_SPLIT.json`` for images already under ``root/SPLIT``."""
    os.makedirs(os.path.join(root, 'annotations'), exist_ok=True)
    categories = [dict(id=i + 1, name=name, supercategory='shape')
                  for i, name in enumerate(('circle', 'square', 'triangle'))]
    with open(os.path.join(root, 'annotations', f'instances_{split}.json'), 'w') as handle:
        json.dump(dict(images=images, annotations=annotations, categories=categories), handle)


def box_annotation(annotation_id, image_id, box, iscrowd=0):
    x, y, w, h = box
    return dict(id=annotation_id, image_id=image_id, category_id=1, bbox=list(box), area=float(w * h),
                iscrowd=iscrowd, segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]])


def detection_config(work_dir, root, max_iters, filter_empty_gt=True):
    cfg = load_detection_config(SHAPES_CONFIG)
    shrink_backbone(cfg, TINY_ARCH)
    cpu_schedule(cfg, work_dir, max_iters, data_root=str(root), eval_split='train2017')
    set_image_size(cfg, 112)
    cfg.train_dataloader.batch_size = 2
    cfg.val_dataloader.batch_size = 2
    cfg.train_dataloader.dataset.filter_cfg = dict(filter_empty_gt=filter_empty_gt, min_size=1)
    cfg.randomness = dict(seed=0)
    cfg.experiment_name = unique_experiment_name()
    return cfg


def assert_losses_finite(runner, iterations):
    scalars = runner.message_hub.log_scalars
    loss_keys = [key for key in scalars if key.startswith('train/loss')]
    assert 'train/loss' in loss_keys
    for key in loss_keys:
        values = scalars[key].data[0]
        assert len(values) == iterations, key
        assert np.isfinite(values).all(), f'{key}: {values}'


def test_image_formats_load_as_color_and_train(tmp_path):
    root = tmp_path / 'formats'
    (root / 'train2017').mkdir(parents=True)
    images, annotations = [], []
    for image_id, (name, (write, _)) in enumerate(IMAGE_FORMATS.items(), start=1):
        write(quadrant_image(), root / 'train2017' / name)
        images.append(dict(id=image_id, file_name=name, width=112, height=84))
        annotations.append(box_annotation(image_id, image_id, (10, 10, 40, 30)))
    write_coco(str(root), images, annotations)
    cfg = detection_config(tmp_path / 'work', root, max_iters=2)

    load = Compose([cfg.val_dataloader.dataset.pipeline[0]])
    expected_bgr = [np.array(colour[::-1]) for colour in QUADRANTS]
    expected_gray = [np.array(Image.new('RGB', (1, 1), colour).convert('L'))[0, 0] for colour in QUADRANTS]
    for name, (_, colour) in IMAGE_FORMATS.items():
        image = load(dict(img_path=str(root / 'train2017' / name)))['img']
        assert image.shape == (84, 112, 3), name
        assert image.dtype == np.uint8, name
        centres = [image[21, 28], image[21, 84], image[63, 28], image[63, 84]]
        for quadrant, pixel in enumerate(centres):
            expected = expected_bgr[quadrant] if colour else np.full(3, expected_gray[quadrant])
            assert np.abs(pixel.astype(int) - expected).max() <= 3, f'{name} quadrant {quadrant}: {pixel}'

    runner = Runner.from_cfg(cfg)
    runner.train()
    assert_losses_finite(runner, 2)
    metrics = runner.val()
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0
    assert 0.0 <= metrics['coco/segm_mAP'] <= 1.0


def corrupted_dataset(tmp_path, load_step):
    root = tmp_path / 'corrupted'
    (root / 'train2017').mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id, name in enumerate(('good.jpg', 'broken.jpg'), start=1):
        quadrant_image().save(root / 'train2017' / name, quality=95)
        images.append(dict(id=image_id, file_name=name, width=112, height=84))
        annotations.append(box_annotation(image_id, image_id, (10, 10, 40, 30)))
    data = (root / 'train2017' / 'broken.jpg').read_bytes()
    (root / 'train2017' / 'broken.jpg').write_bytes(data[:len(data) // 2])
    write_coco(str(root), images, annotations)
    cfg = load_detection_config(SHAPES_CONFIG)
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = str(root)
    dataset_cfg.pipeline = [load_step] + list(dataset_cfg.pipeline[1:])
    dataset = DATASETS.build(dataset_cfg)
    broken_index = next(i for i in range(len(dataset)) if dataset.get_data_info(i)['img_path'].endswith('broken.jpg'))
    return dataset, broken_index, str(root / 'train2017' / 'broken.jpg')


def test_corrupted_jpeg_named_or_skipped(tmp_path):
    """mmcv's loader names the file; LoadCheckedImageFromFile skips it with a warning when asked."""
    dataset, broken, path = corrupted_dataset(tmp_path, dict(type='LoadImageFromFile'))
    with pytest.raises(AssertionError, match=f'failed to load image: {path}'):
        dataset[broken]

    dataset, broken, path = corrupted_dataset(tmp_path, dict(type='LoadCheckedImageFromFile'))
    with pytest.raises(OSError, match=f'{path} is not a readable image'):
        dataset[broken]

    dataset, broken, path = corrupted_dataset(tmp_path, dict(type='LoadCheckedImageFromFile', on_unreadable='skip'))
    with collect_log_messages() as messages:
        sample = dataset[broken]
        dataset[broken]
    # BaseDataset refetched a random other index, here the one good image.
    assert sample['data_samples'].img_path.endswith('good.jpg')
    warnings = [message for message in messages if message.startswith(f'Skipped {path} is not a readable image')]
    assert len(warnings) == 1, messages
    dataset.test_mode = True
    with pytest.raises(Exception, match='should not get `None`'):
        dataset[broken]


@pytest.mark.parametrize('height,width', [(1, 1), (13, 13), (20, 2000)])
def test_tiny_and_extreme_sizes_padded(tmp_path, height, width):
    path = tmp_path / f'{height}x{width}.png'
    Image.new('RGB', (width, height), (120, 60, 30)).save(path)
    cfg = load_detection_config(SHAPES_CONFIG)
    shrink_backbone(cfg, TINY_ARCH)
    model = MODELS.build(cfg.model).eval()
    # Without Resize, the data preprocessor pads the raw image to a multiple of 56.
    pipeline = Compose([dict(type='LoadImageFromFile'),
                        dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                                              'scale_factor'))])
    sample = pipeline(dict(img_path=str(path), img_id=0))
    sample['data_samples'].set_metainfo(dict(scale_factor=(1.0, 1.0)))
    with torch.no_grad():
        batch = model.data_preprocessor(dict(inputs=[sample['inputs']], data_samples=[sample['data_samples']]))
        padded = batch['inputs'].shape[-2:]
        (features,) = model.backbone(batch['inputs'])
        (result,) = model.predict(batch['inputs'], batch['data_samples'])
    assert tuple(padded) == (math.ceil(height / 56) * 56, math.ceil(width / 56) * 56)
    assert tuple(features.shape[-2:]) == (padded[0] // 14, padded[1] // 14)
    boxes = result.pred_instances.bboxes
    assert torch.isfinite(boxes).all()
    if len(boxes):
        assert boxes[:, 2].max() <= width
        assert boxes[:, 3].max() <= height


def test_degenerate_annotations_train_finite(tmp_path):
    root = tmp_path / 'degenerate'
    (root / 'train2017').mkdir(parents=True)
    cases = {
        'no_annotations.jpg': [],
        'zero_width_box.jpg': [((30, 30, 0, 20), 0), ((10, 10, 40, 30), 0)],
        'partly_outside.jpg': [((80, 40, 60, 60), 0)],
        'crowd_only.jpg': [((20, 20, 40, 30), 1)],
    }
    images, annotations = [], []
    for image_id, (name, boxes) in enumerate(cases.items(), start=1):
        quadrant_image().save(root / 'train2017' / name, quality=95)
        images.append(dict(id=image_id, file_name=name, width=112, height=84))
        for box, iscrowd in boxes:
            annotations.append(box_annotation(len(annotations) + 1, image_id, box, iscrowd))
    write_coco(str(root), images, annotations)
    cfg = detection_config(tmp_path / 'work', root, max_iters=2, filter_empty_gt=False)

    # mmdet drops boxes under 1 px when parsing, keeps crowd boxes as ignored, and clips at the border.
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    by_name = {os.path.basename(dataset.get_data_info(i)['img_path']): dataset[i]['data_samples']
               for i in range(len(dataset))}
    assert len(by_name['no_annotations.jpg'].gt_instances) == 0
    assert len(by_name['zero_width_box.jpg'].gt_instances) == 1
    assert len(by_name['crowd_only.jpg'].gt_instances) == 0
    assert len(by_name['crowd_only.jpg'].ignored_instances) == 1
    assert len(by_name['partly_outside.jpg'].gt_instances) == 1

    runner = Runner.from_cfg(cfg)
    runner.train()
    assert_losses_finite(runner, 2)
    assert len(runner.train_dataloader.dataset) == 4


# Backbone input and options

def test_backbone_bad_channels_batch_and_nan():
    model = RoPEViT(arch=dict(TINY_ARCH)).eval()
    for channels in (1, 4):
        with pytest.raises(ValueError, match=f'expects 3 input channels, got {channels}'):
            model(torch.randn(1, channels, 28, 28))
    with pytest.raises(ValueError, match='empty batch'):
        model(torch.randn(0, 3, 28, 28))
    # NaN input is not checked: one NaN pixel turns the whole map NaN (README, Known limits).
    x = torch.randn(2, 3, 28, 28)
    x[0, 0, 5, 5] = float('nan')
    with torch.no_grad():
        (out,) = model(x)
    assert torch.isnan(out[0]).all()
    assert torch.isfinite(out[1]).all(), 'NaN leaked into another image of the batch'


@pytest.mark.parametrize('options,valid', [
    (dict(arch='rope_vit_x14'), 'rope_vit_reg4_b14'),
    (dict(arch=dict(TINY_ARCH), rope_mode='interpolation'), 'extrapolate, interpolate'),
    (dict(arch=dict(TINY_ARCH), frozen_stages=3), 'between -1 and 2'),
], ids=['arch', 'rope_mode', 'frozen_stages'])
def test_invalid_backbone_options_list_valid(options, valid):
    with pytest.raises(ValueError) as error:
        RoPEViT(**options)
    assert valid in str(error.value)
