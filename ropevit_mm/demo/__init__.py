"""The demo job: a generated COCO-format dataset and the flow that trains on it."""
from .synthetic_shapes import SHAPE_CLASSES, generate_shapes_dataset

__all__ = ['SHAPE_CLASSES', 'generate_shapes_dataset']
