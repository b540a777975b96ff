"""Every checkpoint load is weights-only, and code in a pickle never runs."""
import hashlib
import os
import re

import pytest
import torch

from ropevit_mm.checkpoint import CheckpointError, fetch_pretrained
from ropevit_mm.checkpoint import hub
from ropevit_mm.models.backbones import RoPEViT

from .helpers import tiny_runner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_ARCH = dict(patch_size=14, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)


def python_sources():
    for folder in ('ropevit_mm', 'tools'):
        for directory, _, names in os.walk(os.path.join(ROOT, folder)):
            for name in names:
                if name.endswith('.py'):
                    yield os.path.join(directory, name)


def torch_load_calls(source):
    """Return the text of each ``torch.load(...)`` call, brackets balanced."""
    calls = []
    for match in re.finditer(r'torch\.load\(', source):
        depth, end = 0, match.end() - 1
        for end in range(match.end() - 1, len(source)):
            depth += {'(': 1, ')': -1}.get(source[end], 0)
            if depth == 0:
                break
        calls.append(source[match.start():end + 1])
    return calls


def test_sources_load_weights_only():
    checked = 0
    for path in python_sources():
        with open(path) as handle:
            source = handle.read()
        for call in torch_load_calls(source):
            checked += 1
            assert re.search(r'weights_only\s*=\s*True', call), f'{os.path.relpath(path, ROOT)}: {call}'
    assert checked >= 1, 'the scan found no torch.load call at all'


def test_scan_detects_unsafe_call():
    calls = torch_load_calls("x = torch.load(path, map_location=dict(a=1))\ny = torch.load(p, weights_only=True)")
    assert [bool(re.search(r'weights_only\s*=\s*True', call)) for call in calls] == [False, True]


class Payload:
    """Pickles as ``open(marker, 'w')``, which creates a file if unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


@pytest.fixture
def payload_checkpoint(tmp_path):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'payload.pth'
    state = {f'backbone.{key}': value for key, value in RoPEViT(arch=dict(TINY_ARCH)).state_dict().items()}
    torch.save({'meta': {'iter': 2, 'epoch': 0, 'note': Payload(marker)}, 'state_dict': state}, path)
    return path, marker


def test_payload_rejected_via_init_cfg(payload_checkpoint):
    path, marker = payload_checkpoint
    model = RoPEViT(arch=dict(TINY_ARCH), init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(CheckpointError, match='payload.pth is not a readable checkpoint.*allowlist'):
        model.init_weights()
    assert not marker.exists()


def test_payload_rejected_via_load_from(payload_checkpoint, tmp_path):
    path, marker = payload_checkpoint
    runner = tiny_runner(tmp_path / 'work', max_iters=2, load_from=str(path))
    with pytest.raises(CheckpointError, match='payload.pth is not a readable checkpoint.*allowlist'):
        runner.train()
    assert not marker.exists()


def test_payload_rejected_via_resume(payload_checkpoint, tmp_path):
    path, marker = payload_checkpoint
    runner = tiny_runner(tmp_path / 'work', max_iters=2, load_from=str(path), resume=True)
    with pytest.raises(CheckpointError, match='payload.pth is not a readable checkpoint.*allowlist'):
        runner.train()
    assert not marker.exists()


def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch):
    """A download that dies halfway leaves no file under the final name and no staging folder."""
    import huggingface_hub
    payload = b'weights payload' * 1000
    monkeypatch.setitem(hub.PRETRAINED_WEIGHTS, 'test_weights', dict(
        arch='rope_vit_t14', repo_id='example/test', filename='test.pt',
        sha256=hashlib.sha256(payload).hexdigest(), size_mb=0))
    monkeypatch.setenv('ROPEVIT_WEIGHTS_DIR', str(tmp_path))

    def interrupted_download(repo_id, filename, local_dir):
        with open(os.path.join(local_dir, filename), 'wb') as handle:
            handle.write(payload[:len(payload) // 2])
        raise ConnectionResetError('connection reset by peer')

    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', interrupted_download)
    with pytest.raises(RuntimeError, match='Could not download test_weights: ConnectionResetError'):
        fetch_pretrained('test_weights')
    assert os.listdir(tmp_path) == []

    def killed_download(repo_id, filename, local_dir):
        with open(os.path.join(local_dir, filename), 'wb') as handle:
            handle.write(payload[:len(payload) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', killed_download)
    with pytest.raises(KeyboardInterrupt):
        fetch_pretrained('test_weights')
    assert os.listdir(tmp_path) == []
