"""COCO instance annotations read as semantic segmentation label maps."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

# The 80 COCO 2017 "things" categories in ascending category id (1 to 90,
# with gaps), as named in instances_train2017.json.
COCO_2017_CATEGORIES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
    'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
    'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
    'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
    'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
    'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant',
    'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
    'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
    'teddy bear', 'hair drier', 'toothbrush')

BACKGROUND = 'background'


@DATASETS.register_module()
class COCOSemanticDataset(BaseSegDataset):
    """Label maps written by ``tools/coco_to_semantic.py`` next to COCO images.

    Labels: 0 is background (no instance), ``k`` in 1..80 is the k-th COCO
    2017 category in ascending category id (``person`` is 1, ``toothbrush``
    80), and 255 is ignored (crowd regions and pixels claimed by instances of
    different categories). That gives 81 classes. For an annotation file with
    other categories, pass ``metainfo=dict(classes=...)`` with the list the
    converter writes to ``classes.json``.

    Layout, with the converter's output in ``data_root``::

        data_root/classes.json          label names, index = label value
        data_root/train2017.txt         image stems, one per line (ann_file)
        data_root/train2017/<stem>.png  8-bit label maps
        <COCO root>/train2017/<stem>.jpg

    Example:
        >>> dataset = dict(
        ...     type='COCOSemanticDataset',
        ...     data_root='data/coco_semantic',
        ...     ann_file='train2017.txt',
        ...     data_prefix=dict(img_path='data/coco/train2017', seg_map_path='train2017'))

    ``img_path`` may be absolute; a relative one is joined to ``data_root``.
    """

    METAINFO = dict(classes=(BACKGROUND, ) + COCO_2017_CATEGORIES)

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.png', **kwargs) -> None:
        # Label 0 is a real class (background), so it is never reduced.
        kwargs.setdefault('reduce_zero_label', False)
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
