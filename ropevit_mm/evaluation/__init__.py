from .coco_metric import EmptySafeCocoMetric

__all__ = ['EmptySafeCocoMetric']
