"""tools/coco_to_semantic.py and COCOSemanticDataset on synthetic and real COCO annotations."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from .conftest import CONVERTER_PATH, REPO_ROOT


def square(x0, y0, x1, y1):
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def write_synthetic_coco(root, annotations, images=None):
    """Write a COCO root with one 20x30 image and the given annotations."""
    os.makedirs(os.path.join(root, 'annotations'), exist_ok=True)
    os.makedirs(os.path.join(root, 'train2017'), exist_ok=True)
    images = images or [dict(id=1, file_name='a.jpg', height=20, width=30)]
    for image in images:
        Image.new('RGB', (image['width'], image['height'])).save(os.path.join(root, 'train2017', image['file_name']))
    # Category ids out of order, to check that labels follow ascending id.
    categories = [dict(id=5, name='kite'), dict(id=2, name='bicycle')]
    coco = dict(images=images, annotations=annotations, categories=categories)
    with open(os.path.join(root, 'annotations', 'instances_train2017.json'), 'w') as f:
        json.dump(coco, f)


def read_label(path):
    return np.array(Image.open(path))


SYNTHETIC_ANNOTATIONS = [
    # bicycle (label 1) and a second bicycle overlapping it: same category.
    dict(id=1, image_id=1, category_id=2, iscrowd=0, segmentation=square(0, 0, 10, 10)),
    dict(id=2, image_id=1, category_id=2, iscrowd=0, segmentation=square(3, 3, 8, 8)),
    # kite (label 2) overlapping the first bicycle at rows and columns 6 to 9.
    dict(id=3, image_id=1, category_id=5, iscrowd=0, segmentation=square(6, 6, 16, 16)),
    # crowd region (uncompressed RLE, as COCO stores it) at the bottom right.
    dict(id=4, image_id=1, category_id=5, iscrowd=1, segmentation=None),
]


def synthetic_annotations():
    # Uncompressed RLE, as COCO stores crowd regions: alternating run lengths
    # of 0s and 1s in column-major order. Columns 0 to 23 are empty (480
    # pixels), then each of columns 24 to 29 has 15 empty rows and 5 set rows.
    counts = [24 * 20 + 15] + [5, 15] * 5 + [5]
    annotations = [dict(a) for a in SYNTHETIC_ANNOTATIONS]
    annotations[3]['segmentation'] = dict(counts=counts, size=[20, 30])
    return annotations


def test_synthetic_labels_and_ignore(tmp_path, converter):
    write_synthetic_coco(str(tmp_path / 'coco'), synthetic_annotations())
    stems = converter.convert(str(tmp_path / 'coco'), str(tmp_path / 'out'))
    label = read_label(tmp_path / 'out' / 'train2017' / 'a.png')

    assert stems == ['a']
    assert label.shape == (20, 30)
    assert label.dtype == np.uint8
    assert label[1, 1] == 1, 'bicycle (lower category id) must be label 1'
    assert label[4, 4] == 1, 'overlapping instances of one category keep that category'
    assert label[13, 13] == 2, 'kite must be label 2'
    assert label[7, 7] == 255, 'pixels of two categories must be ignored'
    assert label[17, 27] == 255, 'crowd regions must be ignored'
    assert label[18, 2] == 0, 'uncovered pixels must be background'
    assert set(np.unique(label).tolist()) == {0, 1, 2, 255}
    with open(tmp_path / 'out' / 'classes.json') as f:
        assert json.load(f) == ['background', 'bicycle', 'kite']
    assert (tmp_path / 'out' / 'train2017.txt').read_text() == 'a\n'


def test_synthetic_annotation_order_irrelevant(tmp_path, converter):
    annotations = synthetic_annotations()
    write_synthetic_coco(str(tmp_path / 'forward'), annotations)
    write_synthetic_coco(str(tmp_path / 'reversed'), annotations[::-1])
    converter.convert(str(tmp_path / 'forward'), str(tmp_path / 'out_forward'))
    converter.convert(str(tmp_path / 'reversed'), str(tmp_path / 'out_reversed'))

    forward = (tmp_path / 'out_forward' / 'train2017' / 'a.png').read_bytes()
    reverse = (tmp_path / 'out_reversed' / 'train2017' / 'a.png').read_bytes()
    assert forward == reverse


def test_image_without_annotations_is_background(tmp_path, converter):
    images = [dict(id=1, file_name='a.jpg', height=20, width=30), dict(id=7, file_name='empty.jpg', height=9, width=11)]
    write_synthetic_coco(str(tmp_path / 'coco'), synthetic_annotations(), images=images)
    stems = converter.convert(str(tmp_path / 'coco'), str(tmp_path / 'out'))
    label = read_label(tmp_path / 'out' / 'train2017' / 'empty.png')

    assert stems == ['a', 'empty']
    assert label.shape == (9, 11)
    assert not label.any()


def test_missing_annotation_file_raises(tmp_path, converter):
    with pytest.raises(FileNotFoundError, match='instances_val2017.json'):
        converter.convert(str(tmp_path), str(tmp_path / 'out'), split='val2017')


def test_missing_image_raises(tmp_path, converter):
    write_synthetic_coco(str(tmp_path / 'coco'), synthetic_annotations())
    os.remove(tmp_path / 'coco' / 'train2017' / 'a.jpg')
    with pytest.raises(FileNotFoundError, match=r'1 of 1 images .* missing, first: .*a\.jpg'):
        converter.convert(str(tmp_path / 'coco'), str(tmp_path / 'out'))
    assert not (tmp_path / 'out' / 'train2017.txt').exists()


def test_undefined_category_raises(tmp_path, converter):
    annotations = synthetic_annotations()
    annotations[0]['category_id'] = 99
    write_synthetic_coco(str(tmp_path / 'coco'), annotations)
    with pytest.raises(ValueError, match=r'category ids \[99\]'):
        converter.convert(str(tmp_path / 'coco'), str(tmp_path / 'out'))


def test_cli_reports_missing_annotation_file(tmp_path):
    result = subprocess.run([sys.executable, CONVERTER_PATH, str(tmp_path), str(tmp_path / 'out')],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode != 0
    assert 'annotation file not found' in result.stderr
    assert 'instances_train2017.json' in result.stderr


def test_real_coco_label_maps(tiny_coco_root, coco_semantic_root):
    with open(os.path.join(tiny_coco_root, 'annotations', 'instances_train2017.json')) as f:
        coco = json.load(f)
    label_ids = {c['id']: i + 1 for i, c in enumerate(sorted(coco['categories'], key=lambda c: c['id']))}

    for image in coco['images']:
        stem = os.path.splitext(image['file_name'])[0]
        label = read_label(os.path.join(coco_semantic_root, 'train2017', stem + '.png'))
        assert label.shape == (image['height'], image['width']), stem
        values = set(np.unique(label).tolist())
        assert values <= set(range(81)) | {255}, f'{stem}: unexpected labels {sorted(values)}'

        present = {label_ids[a['category_id']] for a in coco['annotations']
                   if a['image_id'] == image['id'] and not a['iscrowd']}
        # A small instance may lose every pixel to overlaps, so labels are a subset.
        assert values - {0, 255} <= present, stem
        assert values - {0, 255}, f'{stem}: no category pixels'

    for annotation in (a for a in coco['annotations'] if a['iscrowd']):
        image = next(i for i in coco['images'] if i['id'] == annotation['image_id'])
        crowd = mask_utils.decode(mask_utils.frPyObjects(annotation['segmentation'], image['height'],
                                                         image['width'])).astype(bool)
        label = read_label(os.path.join(coco_semantic_root, 'train2017',
                                        os.path.splitext(image['file_name'])[0] + '.png'))
        assert crowd.any()
        assert (label[crowd] == 255).all(), 'crowd pixels must be ignored'


def test_real_coco_conversion_deterministic(tiny_coco_root, coco_semantic_root, converter, tmp_path):
    converter.convert(tiny_coco_root, str(tmp_path), split='train2017')
    names = sorted(os.listdir(os.path.join(coco_semantic_root, 'train2017')))
    assert len(names) == 16
    assert sorted(os.listdir(tmp_path / 'train2017')) == names
    for name in names:
        first = open(os.path.join(coco_semantic_root, 'train2017', name), 'rb').read()
        second = (tmp_path / 'train2017' / name).read_bytes()
        assert first == second, name
    for name in ('train2017.txt', 'classes.json'):
        assert open(os.path.join(coco_semantic_root, name)).read() == (tmp_path / name).read_text()


def test_dataset_reads_converted_maps(tiny_coco_root, coco_semantic_root):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(
            type='COCOSemanticDataset',
            data_root=coco_semantic_root,
            ann_file='train2017.txt',
            data_prefix=dict(img_path=os.path.join(tiny_coco_root, 'train2017'), seg_map_path='train2017'),
            pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]))
    with open(os.path.join(coco_semantic_root, 'classes.json')) as f:
        classes = json.load(f)

    assert len(dataset) == 16
    assert list(dataset.metainfo['classes']) == classes
    assert len(classes) == 81
    sample = dataset[0]
    label = sample['data_samples'].gt_sem_seg.data
    assert tuple(label.shape[-2:]) == tuple(sample['inputs'].shape[-2:])
    assert int(label.max()) <= 255
    assert (label > 0).any()
    assert (label < 81).any()
