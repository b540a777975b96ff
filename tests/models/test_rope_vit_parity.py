"""Feature parity with Birder 0.8.4 on the same weights and inputs."""
import pytest
import torch
import torch.nn.functional as F

from ropevit_mm.models.backbones import RoPEViT

from ..birder_reference import build_birder, save_birder_pt

TOLERANCE = 1e-4
SIZES_14 = [(224, 224), (518, 518), (518, 392), (392, 518)]


def scaled_sizes(patch):
    """The parity sizes scaled to the same token grids for another patch size."""
    return [(h // 14 * patch, w // 14 * patch) for h, w in SIZES_14]


def max_diff(a, b):
    return (a - b).abs().max().item()


@pytest.fixture(scope='module')
def birder_checkpoints(tmp_path_factory):
    """Random Birder networks saved with Birder's own .pt writer, per arch."""
    folder = tmp_path_factory.mktemp('birder_models')
    monkeypatch = pytest.MonkeyPatch()
    files = {}
    for arch in ('rope_vit_reg4_b14', 'rope_vit_t16'):
        torch.manual_seed(1)
        net = build_birder(arch)
        # Random init gives near-uniform attention, where RoPE barely changes
        # the output. Larger query and key weights make attention sharp, so
        # a wrong rotation or position would exceed the tolerance.
        with torch.no_grad():
            for block in net.encoder.block:
                block.attn.qkv.weight[:2 * net.hidden_dim] *= 8
        files[arch] = (save_birder_pt(net, arch, folder, monkeypatch), net)
    monkeypatch.undo()
    return files


@pytest.mark.parametrize('rope_mode', ['extrapolate', 'interpolate'])
@pytest.mark.parametrize('arch', ['rope_vit_reg4_b14', 'rope_vit_t16'])
def test_detection_features_match_birder(birder_checkpoints, arch, rope_mode):
    path, _ = birder_checkpoints[arch]
    patch = int(arch[-2:])
    pretrain_grid = (224 // patch, 224 // patch)
    reference = build_birder(arch, pt_grid_size=pretrain_grid if rope_mode == 'interpolate' else None)
    reference.load_state_dict(torch.load(path, weights_only=True)['state'])

    model = RoPEViT(arch=arch, rope_mode=rope_mode, init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    model.eval()

    for height, width in scaled_sizes(patch):
        x = torch.randn(1, 3, height, width)
        with torch.inference_mode():
            expected = reference.detection_features(x)['stage1']
            ours = model.detection_features(x)['neck']
        assert ours.shape == (1, model.embed_dims, height // patch, width // patch)
        diff = max_diff(ours, expected)
        print(f'{arch} {rope_mode} {height}x{width}: max abs diff {diff:.3g}')
        assert diff <= TOLERANCE


def test_rope_modes_differ_off_pretrain_grid(birder_checkpoints):
    """Guards the parity test: RoPE must change the maps far beyond its tolerance."""
    path, _ = birder_checkpoints['rope_vit_t16']
    outputs = []
    for mode in ('extrapolate', 'interpolate'):
        model = RoPEViT(arch='rope_vit_t16', rope_mode=mode, init_cfg=dict(type='Pretrained', checkpoint=path))
        model.init_weights()
        with torch.inference_mode():
            outputs.append(model.eval()(torch.ones(1, 3, 256, 320) * 0.3)[0])
    assert max_diff(*outputs) > 1e-3


def test_embedding_matches_birder(birder_checkpoints):
    path, reference = birder_checkpoints['rope_vit_reg4_b14']
    model = RoPEViT(arch='rope_vit_reg4_b14', init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    model.eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        expected = reference.embedding(x)
        ours = model.embed(x)
    assert ours.shape == (2, 768)
    diff = max_diff(ours, expected)
    print(f'embedding 224x224: max abs diff {diff:.3g}')
    assert diff <= TOLERANCE


@pytest.mark.parametrize('height,width', [(500, 333), (333, 500), (230, 15)])
def test_unaligned_input_matches_birder_on_padded_input(birder_checkpoints, height, width):
    path, reference = birder_checkpoints['rope_vit_reg4_b14']
    model = RoPEViT(arch='rope_vit_reg4_b14', init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    model.eval()
    x = torch.randn(1, 3, height, width)
    padded = F.pad(x, (0, -width % 14, 0, -height % 14))
    with torch.inference_mode():
        expected = reference.detection_features(padded)['stage1']
        ours = model.detection_features(x)['neck']
    assert ours.shape[-2:] == (-(-height // 14), -(-width // 14))
    diff = max_diff(ours, expected)
    print(f'padded {height}x{width}: max abs diff {diff:.3g}')
    assert diff <= TOLERANCE
