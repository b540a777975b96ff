"""Image loading that names unreadable files and can skip them."""
import logging
from typing import Optional

import cv2
import mmcv
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log
from mmengine.registry import TRANSFORMS

_ON_UNREADABLE = ('raise', 'skip')


@TRANSFORMS.register_module()
class LoadCheckedImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` with a clear error, or a logged skip, for unreadable images.

    Decoding is mmcv's, with the same arguments and output (``color_type``
    'color' gives 3-channel BGR uint8 with the EXIF orientation applied).
    mmcv 2.1's ``LoadImageFromFile`` reports a file that OpenCV cannot
    decode, such as a truncated JPEG, with a bare ``assert`` (removed by
    ``python -O``), and its ``ignore_empty`` skips only files whose reading
    raises, without a log line.

    Args:
        on_unreadable (str): ``'raise'`` (default) raises ``OSError`` naming
            the file. ``'skip'`` logs a warning naming the file (once per
            file) and returns None. In training, mmengine's ``BaseDataset``
            then draws another random index, up to ``max_refetch`` times
            (1000 by default); in test mode it raises, because every test
            image must be evaluated.
        **kwargs: arguments of mmcv's ``LoadImageFromFile`` except
            ``ignore_empty``, which ``on_unreadable`` replaces.
    """

    def __init__(self, on_unreadable: str = 'raise', **kwargs):
        if on_unreadable not in _ON_UNREADABLE:
            raise ValueError(f"on_unreadable must be one of {', '.join(_ON_UNREADABLE)}, got '{on_unreadable}'")
        if 'ignore_empty' in kwargs:
            raise ValueError("ignore_empty is replaced by on_unreadable='skip' in LoadCheckedImageFromFile")
        super().__init__(**kwargs)
        self.on_unreadable = on_unreadable
        self._warned = set()

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
            img = mmcv.imfrombytes(img_bytes, flag=self.color_type, backend=self.imdecode_backend)
            if img is None or img.size == 0:
                raise OSError('the decoder returned no pixels')
        except FileNotFoundError:
            # A missing file is a dataset error, never a skippable image.
            raise
        except (OSError, ValueError, cv2.error) as error:
            message = (f'{filename} is not a readable image (truncated, corrupted or not an image file): '
                       f'{error}')
            if self.on_unreadable == 'raise':
                raise OSError(message + ". Set on_unreadable='skip' in LoadCheckedImageFromFile to skip such "
                              'images in training') from error
            if filename not in self._warned:
                self._warned.add(filename)
                print_log(f'Skipped {message}', logger='current', level=logging.WARNING)
            return None

        if self.to_float32:
            img = img.astype('float32')
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(on_unreadable={self.on_unreadable!r}, to_float32={self.to_float32}, '
                f"color_type='{self.color_type}', imdecode_backend='{self.imdecode_backend}', "
                f'backend_args={self.backend_args})')
