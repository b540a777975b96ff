"""Weights-only loading of mmengine checkpoints, so resume works on torch >= 2.6.

torch 2.6 made ``torch.load`` default to ``weights_only=True``, and
mmengine 0.10.7 writes objects that this mode rejects: its message hub
stores ``HistoryBuffer`` objects (with numpy arrays inside, and class
attributes pickled through ``getattr``), and ``eta`` is a numpy float.
This module allowlists exactly those objects. ``weights_only`` stays on
for everything else, so a checkpoint with any other class is still
rejected, and it replaces mmengine's local-file loader with one that
always passes ``weights_only=True`` and reports unreadable files clearly.
"""
import pickle

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from .loading import load_weights_only


def _history_buffer_getattr(owner, name):
    """Stand-in for ``builtins.getattr`` that only resolves HistoryBuffer statistics methods.

    A pickled ``HistoryBuffer`` refers to its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; any other use is rejected.
    """
    if owner is HistoryBuffer and isinstance(name, str) and callable(getattr(HistoryBuffer, name, None)) \
            and not name.startswith('_'):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'checkpoint calls getattr({owner!r}, {name!r}); only HistoryBuffer '
                                 'statistics methods are allowed')


def _numpy_globals():
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    entries = [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar]
    # numpy >= 1.25 pickles dtypes through their classes, such as Float64DType.
    dtype_classes = getattr(np, 'dtypes', None)
    if dtype_classes is not None:
        for name in ('Float64DType', 'Float32DType', 'Float16DType', 'Int64DType', 'Int32DType', 'Int16DType',
                     'Int8DType', 'UInt8DType', 'BoolDType'):
            if hasattr(dtype_classes, name):
                entries.append(getattr(dtype_classes, name))
    return entries


MMENGINE_SAFE_GLOBALS = [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] + _numpy_globals()


def register_safe_globals() -> None:
    """Allow exactly the objects mmengine writes into checkpoints."""
    torch.serialization.add_safe_globals(MMENGINE_SAFE_GLOBALS)


def load_from_local(filename, map_location):
    """mmengine loader for local paths; the name keeps mmengine's ``load_from_`` log format."""
    return load_weights_only(filename, map_location)


def register_checkpoint_loader() -> None:
    """Route mmengine's local checkpoint loads (resume, ``load_from``) through ``load_weights_only``."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
