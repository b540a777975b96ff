"""Convert COCO instance annotations into semantic label maps for MMSegmentation.

Reads ``COCO_ROOT/annotations/instances_{split}.json`` and writes, under
``OUT_DIR``:

    {split}/<image stem>.png   8-bit label map, same size as the image
    {split}.txt                image stems in annotation-file order (ann_file)
    classes.json               label names, index = label value

Label values:
    0          background: no instance covers the pixel
    k (1..N)   the k-th category in ascending category id
    255        ignored: a crowd region, or a pixel covered by instances of
               different categories

The result depends only on the annotation file, not on annotation order or
``--nproc``, and rerunning it writes identical files. The images themselves
are not copied; ``COCOSemanticDataset`` reads them from the COCO root.

Example:
    python tools/coco_to_semantic.py data/coco data/coco_semantic --split train2017
"""
import argparse
import json
import logging
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from mmengine.utils import track_iter_progress, track_parallel_progress
from PIL import Image
from pycocotools import mask as mask_utils

IGNORE_INDEX = 255
BACKGROUND_LABEL = 0


def load_coco(ann_file: str) -> dict:
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file}; expected COCO_ROOT/annotations/'
                                'instances_{split}.json (see --split)')
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    missing = [key for key in ('images', 'annotations', 'categories') if key not in coco]
    if missing:
        raise ValueError(f'{ann_file} is not a COCO instance annotation file: missing keys {missing}')
    return coco


def category_labels(categories: Sequence[dict]) -> Tuple[Dict[int, int], List[str]]:
    """Map category ids to labels 1..N in ascending id; return the map and the label names."""
    ordered = sorted(categories, key=lambda category: category['id'])
    if len(ordered) >= IGNORE_INDEX:
        raise ValueError(f'{len(ordered)} categories do not fit in 8-bit labels with background 0 and '
                         f'ignore index {IGNORE_INDEX}; at most {IGNORE_INDEX - 1} are supported')
    labels = {category['id']: index + 1 for index, category in enumerate(ordered)}
    names = ['background'] + [category['name'] for category in ordered]
    return labels, names


def decode_segmentation(segmentation, height: int, width: int) -> np.ndarray:
    """Decode a COCO polygon list or RLE into a boolean ``(height, width)`` mask."""
    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get('counts'), list):
        # Uncompressed RLE, as COCO stores crowd regions.
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    return mask_utils.decode(rle).astype(bool)


def rasterize(height: int, width: int, annotations: Sequence[dict], labels: Dict[int, int]) -> np.ndarray:
    """Return the ``(height, width)`` uint8 label map of one image's annotations."""
    label_map = np.full((height, width), BACKGROUND_LABEL, dtype=np.uint8)
    conflict = np.zeros((height, width), dtype=bool)
    crowd = np.zeros((height, width), dtype=bool)

    for annotation in annotations:
        mask = decode_segmentation(annotation['segmentation'], height, width)
        if annotation.get('iscrowd', 0):
            crowd |= mask
            continue
        label = labels[annotation['category_id']]
        # A pixel keeps a label only if every instance covering it agrees,
        # which makes the result independent of annotation order.
        conflict |= mask & (label_map != BACKGROUND_LABEL) & (label_map != label)
        label_map[mask & (label_map == BACKGROUND_LABEL)] = label

    label_map[conflict | crowd] = IGNORE_INDEX
    return label_map


def convert_image(task: Tuple[int, int, List[dict], Dict[int, int], str]) -> None:
    height, width, annotations, labels, out_file = task
    Image.fromarray(rasterize(height, width, annotations, labels), mode='L').save(out_file)


def find_missing_images(images: Sequence[dict], img_dir: str) -> List[str]:
    return [osp.join(img_dir, image['file_name']) for image in images
            if not osp.isfile(osp.join(img_dir, image['file_name']))]


def convert(coco_root: str, out_dir: str, split: str = 'train2017', nproc: int = 1) -> List[str]:
    """Write the label maps of one split; return the image stems in file order.

    Raises:
        FileNotFoundError: the annotation file or an image it lists is missing.
    """
    ann_file = osp.join(coco_root, 'annotations', f'instances_{split}.json')
    img_dir = osp.join(coco_root, split)
    coco = load_coco(ann_file)
    labels, names = category_labels(coco['categories'])

    images = coco['images']
    missing = find_missing_images(images, img_dir)
    if missing:
        raise FileNotFoundError(f'{len(missing)} of {len(images)} images listed in {ann_file} are missing, '
                                f'first: {missing[0]}; check COCO_ROOT and --split')
    unknown = sorted({a['category_id'] for a in coco['annotations']} - set(labels))
    if unknown:
        raise ValueError(f'annotations in {ann_file} use category ids {unknown} that its categories list '
                         'does not define')

    per_image: Dict[int, List[dict]] = {image['id']: [] for image in images}
    for annotation in coco['annotations']:
        if annotation['image_id'] in per_image:
            per_image[annotation['image_id']].append(annotation)

    label_dir = osp.join(out_dir, split)
    os.makedirs(label_dir, exist_ok=True)
    stems = [osp.splitext(image['file_name'])[0] for image in images]
    tasks = [(image['height'], image['width'], per_image[image['id']], labels, osp.join(label_dir, stem + '.png'))
             for image, stem in zip(images, stems)]

    print_log(f'Converting {len(tasks)} images of {ann_file} ({len(names) - 1} categories) to {label_dir}',
              logger='current')
    if nproc > 1:
        track_parallel_progress(convert_image, tasks, nproc, keep_order=True)
    else:
        for task in track_iter_progress(tasks):
            convert_image(task)

    with open(osp.join(out_dir, f'{split}.txt'), 'w', encoding='utf-8') as f:
        f.writelines(stem + '\n' for stem in stems)
    with open(osp.join(out_dir, 'classes.json'), 'w', encoding='utf-8') as f:
        json.dump(names, f, indent=1)
        f.write('\n')

    _warn_on_class_mismatch(names)
    print_log(f'Wrote {len(stems)} label maps to {label_dir}, the list {split}.txt and classes.json '
              f'({len(names)} classes with background, ignore index {IGNORE_INDEX})', logger='current')
    return stems


def _warn_on_class_mismatch(names: Sequence[str]) -> None:
    from ropevit_mm.datasets.coco_semantic import COCOSemanticDataset

    expected = list(COCOSemanticDataset.METAINFO['classes'])
    if list(names) != expected:
        print_log(f'The {len(names)} classes differ from the {len(expected)} COCO 2017 classes of '
                  'COCOSemanticDataset: pass metainfo=dict(classes=...) with the names in classes.json '
                  'and set num_classes to match', logger='current', level=logging.WARNING)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert COCO instance annotations into semantic label maps '
                                     '(0 background, 1..N categories in ascending id, 255 ignored).')
    parser.add_argument('coco_root', help='folder with annotations/instances_{split}.json and {split}/ images')
    parser.add_argument('out_dir', help='folder to write {split}/*.png, {split}.txt and classes.json into')
    parser.add_argument('--split', default='train2017', help='COCO split name (default: train2017)')
    parser.add_argument('--nproc', type=int, default=1, help='worker processes (default: 1)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.nproc < 1:
        raise SystemExit(f'--nproc must be at least 1, got {args.nproc}')
    convert(args.coco_root, args.out_dir, args.split, args.nproc)


if __name__ == '__main__':
    main()
