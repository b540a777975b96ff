"""A checkpoint hook whose files survive crashes and whose resume is exact.

This project's configs select it with
``default_hooks = dict(checkpoint=dict(type='ResumableCheckpointHook', ...))``.
"""
import logging
import os
import os.path as osp
import random
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.dist import get_world_size, is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.registry import HOOKS
from mmengine.runner import IterBasedTrainLoop

# Suffix of the file a checkpoint is written to before it is renamed into place.
PARTIAL_SUFFIX = '.partial'


def capture_rng_state() -> Dict[str, Any]:
    """Return the python, numpy and torch RNG states as weights-only loadable objects.

    The numpy key is stored as an int64 tensor because ``torch.load`` with
    ``weights_only=True`` rejects uint32 numpy arrays.
    """
    _, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    state = {
        'python': random.getstate(),
        'numpy': {
            'keys': torch.from_numpy(keys.astype(np.int64)),
            'pos': int(position),
            'has_gauss': int(has_gauss),
            'cached_gaussian': float(cached_gaussian),
        },
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Set the RNG states saved by ``capture_rng_state``."""
    random.setstate(state['python'])
    numpy_state = state['numpy']
    np.random.set_state(('MT19937', numpy_state['keys'].numpy().astype(np.uint32), numpy_state['pos'],
                         numpy_state['has_gauss'], numpy_state['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def write_text_atomically(text: str, path: str) -> None:
    """Write ``text`` to a temporary file next to ``path``, then rename it into place."""
    partial = path + PARTIAL_SUFFIX
    with open(partial, 'w') as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


class _RestoreRNGAfterSkip:
    """Dataloader iterator proxy that restores RNG states after the resume skip.

    On resume, ``IterBasedTrainLoop.run`` calls ``next`` ``skip`` times to
    step over the batches trained before the checkpoint. Those calls run the
    data pipeline, which draws random numbers, so the saved states are set
    just before the first batch that is trained again.
    """

    def __init__(self, iterator, skip: int, rng_state: Dict[str, Any]):
        self._iterator = iterator
        self._skip = skip
        self._rng_state = rng_state
        self._calls = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._calls == self._skip and self._rng_state is not None:
            restore_rng_state(self._rng_state)
            self._rng_state = None
        self._calls += 1
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class ResumableCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with crash-safe files and an exact resume.

    It takes ``CheckpointHook``'s arguments and differs from it (mmengine
    0.10.7) in four ways:

    - each checkpoint is written to ``.NAME.pth.partial`` in the output
      folder, flushed to disk and then renamed to ``NAME.pth``, so a process
      that dies while writing leaves the previous checkpoint untouched;
    - ``last_checkpoint`` is replaced by a rename as well, so it always
      names a complete file;
    - with ``max_keep_ckpts``, outdated checkpoints are deleted after the
      new one is in place (``CheckpointHook`` deletes them first);
    - each checkpoint stores the python, numpy and torch RNG states under
      ``rng_state``. A resumed single-process run sets them again right
      before its first new batch, so with ``num_workers=0`` it draws the
      same random numbers as a run that was never interrupted.

    Output folders on other storage backends fall back to
    ``CheckpointHook``'s writes. ``partial`` files left by a crash are
    removed when training starts.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loaded_rng_state: Optional[Dict[str, Any]] = None
        self._loaded_iter: Optional[int] = None

    def _writes_locally(self) -> bool:
        return isinstance(getattr(self, 'file_backend', None), LocalBackend)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._writes_locally() and is_main_process():
            self._remove_partial_files()
        self._schedule_rng_restore(runner)

    def _remove_partial_files(self) -> None:
        if not osp.isdir(self.out_dir):
            return
        for name in sorted(os.listdir(self.out_dir)):
            if name.startswith('.') and name.endswith(PARTIAL_SUFFIX):
                os.remove(osp.join(self.out_dir, name))
                print_log(f'Removed {name}, a checkpoint left incomplete by an earlier run', logger='current',
                          level=logging.WARNING)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = capture_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded_rng_state = checkpoint.get('rng_state')
        self._loaded_iter = (checkpoint.get('meta') or {}).get('iter')

    def _schedule_rng_restore(self, runner) -> None:
        state, self._loaded_rng_state = self._loaded_rng_state, None
        # load_from leaves the iteration at 0; only a resume sets it to the checkpoint's.
        resumed = runner.iter > 0 and runner.iter == self._loaded_iter
        if state is None or not resumed:
            return
        if get_world_size() > 1:
            print_log('RNG states are restored on resume only in single-process runs; this run is '
                      'reseeded from randomness.seed as mmengine does', logger='current')
            return
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop):
            loop.dataloader_iterator = _RestoreRNGAfterSkip(loop.dataloader_iterator, runner.iter, state)
        else:
            restore_rng_state(state)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not self._writes_locally():
            return super()._save_checkpoint_with_step(runner, step, meta)

        # Same bookkeeping as CheckpointHook, except that outdated files are
        # only collected here and deleted once the new checkpoint is in place.
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        partial_name = f'.{filename}{PARTIAL_SUFFIX}'
        partial_path = osp.join(self.out_dir, partial_name)
        try:
            runner.save_checkpoint(
                self.out_dir,
                partial_name,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
        except BaseException:
            if is_main_process() and osp.exists(partial_path):
                os.remove(partial_path)
            raise

        # Runner.save_checkpoint writes on the main process only.
        if not is_main_process():
            return
        with open(partial_path, 'rb') as handle:
            os.fsync(handle.fileno())
        os.replace(partial_path, self.last_ckpt)
        write_text_atomically(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))

        for old_step in outdated:
            old_path = osp.join(self.out_dir, self.filename_tmpl.format(old_step))
            if osp.isfile(old_path):
                os.remove(old_path)
            elif osp.isdir(old_path):
                self.file_backend.rmtree(old_path)
