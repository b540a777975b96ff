from .coco_semantic import COCOSemanticDataset

__all__ = ['COCOSemanticDataset']
