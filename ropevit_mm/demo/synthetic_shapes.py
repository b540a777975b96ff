"""A small COCO-format instance segmentation dataset of drawn shapes.

Each image shows one to three filled shapes (circle, square, triangle) on a
textured background. Every shape is stored as a polygon mask with its box
and area, so the dataset exercises the whole Mask R-CNN pipeline. Each class
has its own hue range (reds for circles, greens for squares, blues for
triangles) besides its outline, which keeps the task learnable in minutes on
a CPU from random weights.
"""
import colorsys
import json
import math
import os
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image, ImageDraw

SHAPE_CLASSES = ('circle', 'square', 'triangle')


def _polygon(kind: str, cx: float, cy: float, radius: float, angle: float) -> List[Tuple[float, float]]:
    if kind == 'circle':
        count = 32
        return [(cx + radius * math.cos(2 * math.pi * i / count), cy + radius * math.sin(2 * math.pi * i / count))
                for i in range(count)]
    corners = 4 if kind == 'square' else 3
    return [(cx + radius * math.cos(angle + 2 * math.pi * i / corners),
             cy + radius * math.sin(angle + 2 * math.pi * i / corners)) for i in range(corners)]


def _polygon_area(points: List[Tuple[float, float]]) -> float:
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    return float(0.5 * abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))))


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    base = rng.uniform(90, 200, size=3)
    gradient = np.linspace(-25, 25, width)[None, :, None] * rng.uniform(-1, 1, size=3)
    noise = rng.normal(0, 8, size=(height, width, 3))
    return np.clip(base + gradient + noise, 0, 255).astype(np.uint8)


def _draw_image(rng: np.random.Generator, image_id: int, annotation_id: int
                ) -> Tuple[Image.Image, List[dict]]:
    width, height = (int(v) for v in rng.integers(150, 231, size=2))
    image = Image.fromarray(_background(rng, height, width))
    draw = ImageDraw.Draw(image)
    placed: List[Tuple[float, float, float]] = []
    annotations = []
    for _ in range(int(rng.integers(1, 4))):
        # Retry placement so that shapes overlap at most slightly.
        for _attempt in range(20):
            radius = float(rng.uniform(18, 42))
            cx = float(rng.uniform(radius, width - radius))
            cy = float(rng.uniform(radius, height - radius))
            if all(math.hypot(cx - x, cy - y) > 0.9 * (radius + r) for x, y, r in placed):
                break
        else:
            continue
        placed.append((cx, cy, radius))
        label = int(rng.integers(len(SHAPE_CLASSES)))
        points = _polygon(SHAPE_CLASSES[label], cx, cy, radius, float(rng.uniform(0, 2 * math.pi)))
        hue = (label / len(SHAPE_CLASSES) + rng.uniform(-0.07, 0.07)) % 1.0
        rgb = colorsys.hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(0.55, 1.0))
        colour = tuple(int(round(c * 255)) for c in rgb)
        draw.polygon(points, fill=colour, outline=tuple(max(c - 60, 0) for c in colour))
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        x0, y0 = max(min(xs), 0.0), max(min(ys), 0.0)
        x1, y1 = min(max(xs), width), min(max(ys), height)
        annotations.append(dict(
            id=annotation_id + len(annotations),
            image_id=image_id,
            category_id=label + 1,
            segmentation=[[round(v, 2) for point in points for v in point]],
            area=round(_polygon_area(points), 2),
            bbox=[round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
            iscrowd=0))
    return image, annotations


def generate_shapes_dataset(root: str, num_train: int = 240, num_val: int = 60, seed: int = 0) -> Dict[str, str]:
    """Write a COCO-layout dataset under ``root`` and return its annotation files by split.

    Layout: ``annotations/instances_{train,val}2017.json`` and
    ``{train,val}2017/*.jpg``. The same arguments always give the same
    files. An existing dataset with the same settings is reused.
    """
    marker = os.path.join(root, 'dataset_settings.json')
    settings = dict(num_train=num_train, num_val=num_val, seed=seed, classes=list(SHAPE_CLASSES), version=2)
    files = {split: os.path.join(root, 'annotations', f'instances_{split}2017.json') for split in ('train', 'val')}
    if os.path.isfile(marker) and all(os.path.isfile(f) for f in files.values()):
        with open(marker) as handle:
            if json.load(handle) == settings:
                return files

    rng = np.random.default_rng(seed)
    categories = [dict(id=i + 1, name=name, supercategory='shape') for i, name in enumerate(SHAPE_CLASSES)]
    os.makedirs(os.path.join(root, 'annotations'), exist_ok=True)
    image_id = annotation_id = 1
    for split, count in (('train', num_train), ('val', num_val)):
        folder = os.path.join(root, f'{split}2017')
        os.makedirs(folder, exist_ok=True)
        images, annotations = [], []
        for _ in range(count):
            image, image_annotations = _draw_image(rng, image_id, annotation_id)
            file_name = f'{image_id:012d}.jpg'
            image.save(os.path.join(folder, file_name), quality=95)
            images.append(dict(id=image_id, file_name=file_name, width=image.width, height=image.height))
            annotations.extend(image_annotations)
            image_id += 1
            annotation_id += len(image_annotations)
        with open(files[split], 'w') as handle:
            json.dump(dict(images=images, annotations=annotations, categories=categories), handle)
    with open(marker, 'w') as handle:
        json.dump(settings, handle)
    return files
