"""Choosing the checkpoint an automatic resume starts from."""
import glob
import logging
import os
import os.path as osp
import re
from typing import List, Optional

from mmengine.logging import print_log

from .loading import CheckpointError, load_weights_only

# File names CheckpointHook writes with its default filename_tmpl.
_STEP_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def _candidates(work_dir: str) -> List[str]:
    """Return checkpoint files newest first: the highest step, then the latest modification time."""
    paths = set()
    pointer = osp.join(work_dir, 'last_checkpoint')
    folders = {work_dir}
    if osp.isfile(pointer):
        with open(pointer) as handle:
            target = handle.read().strip()
        if target:
            paths.add(target)
            folders.add(osp.dirname(target))
    for folder in folders:
        paths.update(path for path in glob.glob(osp.join(folder, '*.pth')) if _STEP_NAME.match(osp.basename(path)))

    def newest_first(path):
        match = _STEP_NAME.match(osp.basename(path))
        step = int(match.group(1)) if match else -1
        mtime = osp.getmtime(path) if osp.exists(path) else 0.0
        return (step, mtime)

    return sorted(paths, key=newest_first, reverse=True)


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """Return the newest checkpoint in ``work_dir`` that loads as an mmengine checkpoint.

    The candidates are the file named in ``work_dir/last_checkpoint`` and
    every ``iter_N.pth`` or ``epoch_N.pth`` in the work dir and in the
    pointer's folder. Each candidate is loaded with ``weights_only=True``.
    A missing, truncated or unreadable file is skipped with a warning that
    names it, and so is a file without ``state_dict`` and ``meta``.

    Returns:
        The path, or None when the work dir has no checkpoint at all.

    Raises:
        CheckpointError: when checkpoints exist but none of them is readable.
    """
    skipped = []
    for path in _candidates(work_dir):
        try:
            checkpoint = load_weights_only(path)
            if not (isinstance(checkpoint, dict) and 'state_dict' in checkpoint and 'meta' in checkpoint):
                raise CheckpointError(f'{path} is not a readable checkpoint: it has no state_dict and meta, '
                                      'so it was not written by mmengine')
        except (FileNotFoundError, CheckpointError) as error:
            print_log(f'Skipped {path} for resuming: {error}', logger='current', level=logging.WARNING)
            skipped.append(path)
            continue
        if skipped:
            print_log(f'Resuming from {path}, the newest readable checkpoint', logger='current',
                      level=logging.WARNING)
        return path
    if skipped:
        raise CheckpointError(f'No readable checkpoint in {work_dir} to resume from (skipped: '
                              f'{", ".join(skipped)}). Delete them to train from scratch, or pass a '
                              'checkpoint with --resume PATH')
    return None
