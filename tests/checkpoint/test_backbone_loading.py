"""Loading Birder, safetensors, plain and mmengine checkpoints into RoPEViT."""
import os

import pytest
import torch

from ropevit_mm.checkpoint import CheckpointError, fetch_pretrained, load_backbone_checkpoint
from ropevit_mm.models.backbones import RoPEViT

from ..birder_reference import build_birder, save_birder_pt, save_birder_safetensors

ARCH = 'rope_vit_reg1_t14'


@pytest.fixture(scope='module')
def reference():
    torch.manual_seed(5)
    return build_birder(ARCH, num_classes=10)


def assert_same_weights(model, reference):
    ours = model.state_dict()
    for key, value in reference.state_dict().items():
        if key.startswith(('classifier', 'rope')):
            continue
        assert ours[key].equal(value), key


def load(path, **init):
    model = RoPEViT(arch=ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(path), **init))
    model.init_weights()
    return model


def test_birder_pt_with_classifier(reference, tmp_path, monkeypatch):
    path = save_birder_pt(reference, ARCH, tmp_path, monkeypatch)
    assert 'classifier.weight' in torch.load(path, weights_only=True)['state']
    assert_same_weights(load(path), reference)


def test_birder_safetensors(reference, tmp_path):
    path = save_birder_safetensors(reference, tmp_path / 'net.safetensors')
    assert_same_weights(load(path), reference)


def test_plain_state_dict(reference, tmp_path):
    path = tmp_path / 'plain.pth'
    torch.save(reference.state_dict(), path)
    assert_same_weights(load(path), reference)


@pytest.mark.parametrize('prefix', ['backbone.', 'module.backbone.'])
def test_mmengine_checkpoint_with_prefixes(reference, tmp_path, prefix):
    state = {prefix + key: value for key, value in reference.state_dict().items()}
    state[prefix.replace('backbone.', '') + 'neck.conv.weight'] = torch.zeros(1)
    path = tmp_path / 'mmengine.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': state}, path)
    assert_same_weights(load(path), reference)


def test_classifier_keys_logged(reference, tmp_path, monkeypatch, mm_log_messages):
    path = save_birder_pt(reference, ARCH, tmp_path, monkeypatch)
    load(path)
    assert any('ignored 2 classifier keys' in message for message in mm_log_messages)


def test_position_embedding_resized_with_log(tmp_path, monkeypatch, mm_log_messages):
    torch.manual_seed(2)
    big = build_birder(ARCH, size=280)  # 20x20 grid
    path = save_birder_pt(big, ARCH, tmp_path, monkeypatch, size=280)
    model = load(path)
    assert model.pos_embedding.shape == (1, 2 + 16 * 16, 192)
    assert any('pos_embedding resized from 20x20 to 16x16' in message for message in mm_log_messages)


def test_missing_file_names_path(tmp_path):
    missing = tmp_path / 'nope.pt'
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        load(missing)


@pytest.mark.parametrize('content', [b'', b'\xff\xd8\xff\xe0JFIF not a checkpoint', b'PK\x03\x04trunc'])
def test_unreadable_files_rejected(tmp_path, content):
    path = tmp_path / 'broken.pt'
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match='broken.pt is not a readable checkpoint'):
        load(path)


def test_truncated_checkpoint_rejected(reference, tmp_path):
    path = tmp_path / 'full.pth'
    torch.save(reference.state_dict(), path)
    data = path.read_bytes()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated.pth is not a readable checkpoint'):
        load(truncated)


def test_wider_model_weights_name_first_mismatch(tmp_path):
    wide = RoPEViT(arch='rope_vit_reg1_s14')
    path = tmp_path / 'small.pth'
    torch.save(wide.state_dict(), path)
    with pytest.raises(CheckpointError, match=r'shape mismatch at class_token: checkpoint \(1, 1, 384\), '
                       r'model rope_vit_reg1_t14 \(1, 1, 192\)'):
        load(path)


def test_deeper_model_weights_name_depths(tmp_path):
    deep = RoPEViT(arch=dict(patch_size=14, num_layers=13, num_heads=3, hidden_dim=192, mlp_dim=768,
                             num_reg_tokens=1))
    path = tmp_path / 'deep.pth'
    torch.save(deep.state_dict(), path)
    with pytest.raises(CheckpointError, match='checkpoint has 13 blocks, model rope_vit_reg1_t14 expects 12'):
        load(path)


def test_missing_keys_strict_and_non_strict(reference, tmp_path):
    state = reference.state_dict()
    del state['norm.weight']
    state['extra.weight'] = torch.zeros(1)
    path = tmp_path / 'partial.pth'
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"missing keys \['norm.weight'\]; unexpected keys \['extra.weight'\]"):
        load(path)
    model = load(path, strict=False)
    assert model.conv_proj.weight.equal(reference.conv_proj.weight)


def test_load_function_returns_metadata(reference, tmp_path, monkeypatch):
    path = save_birder_pt(reference, ARCH, tmp_path, monkeypatch)
    model = RoPEViT(arch=ARCH)
    metadata = load_backbone_checkpoint(model, path)
    assert metadata['rgb_stats']['mean'] == [0.5191, 0.5306, 0.4877]


def test_published_weights_offline_error_names_file(tmp_path, monkeypatch):
    monkeypatch.setenv('ROPEVIT_WEIGHTS_DIR', str(tmp_path))
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(RuntimeError, match=r'rope_vit_reg4_b14_capi.pt .*birder-project/rope_vit_reg4_b14_capi'):
        fetch_pretrained('rope_vit_reg4_b14_capi')
    assert os.listdir(tmp_path) == []


def test_published_weights_wrong_sha256_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv('ROPEVIT_WEIGHTS_DIR', str(tmp_path))
    (tmp_path / 'rope_vit_reg4_b14_capi.pt').write_bytes(b'not the weights')
    with pytest.raises(RuntimeError, match='has sha256 .* expected 175378d8'):
        fetch_pretrained('rope_vit_reg4_b14_capi')


def test_published_weights_download_verified(tmp_path, monkeypatch):
    """A download through huggingface_hub is checked and renamed into place."""
    import huggingface_hub

    from ropevit_mm.checkpoint import hub
    payload = b'weights payload'
    import hashlib
    monkeypatch.setitem(hub.PRETRAINED_WEIGHTS, 'test_weights', dict(
        arch='rope_vit_t14', repo_id='example/test', filename='test.pt',
        sha256=hashlib.sha256(payload).hexdigest(), size_mb=0))
    monkeypatch.setenv('ROPEVIT_WEIGHTS_DIR', str(tmp_path))

    def fake_download(repo_id, filename, local_dir):
        target = os.path.join(local_dir, filename)
        with open(target, 'wb') as handle:
            handle.write(payload)
        return target

    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', fake_download)
    path = fetch_pretrained('test_weights')
    assert path == str(tmp_path / 'test.pt')
    assert sorted(os.listdir(tmp_path)) == ['test.pt']

    monkeypatch.setitem(hub.PRETRAINED_WEIGHTS['test_weights'], 'filename', 'other.pt')
    monkeypatch.setitem(hub.PRETRAINED_WEIGHTS['test_weights'], 'sha256', '0' * 64)
    with pytest.raises(RuntimeError, match='discarded'):
        fetch_pretrained('test_weights')
    assert sorted(os.listdir(tmp_path)) == ['test.pt']
