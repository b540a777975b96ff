from .coco_semantic import COCOSemanticDataset
from .transforms import LoadCheckedImageFromFile  # noqa: F401  (registers the transform)

__all__ = ['COCOSemanticDataset']
