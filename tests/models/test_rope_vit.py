"""RoPEViT backbone: interface, input sizes, training features and caches."""
import pytest
import torch

from ropevit_mm.models.backbones import ARCH_SETTINGS, RoPEViT

TINY = dict(patch_size=14, num_layers=3, num_heads=3, hidden_dim=48, mlp_dim=96, num_reg_tokens=4,
            drop_path_rate=0.0)


def tiny_model(**kwargs):
    return RoPEViT(arch=dict(TINY), **kwargs)


def test_default_arch_shapes_and_attributes():
    model = RoPEViT(arch='rope_vit_reg4_b14').eval()
    assert model.stride == 14
    assert model.out_channels == [768]
    assert model.out_strides == [14]
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(85.7e6, rel=0.01)
    with torch.inference_mode():
        features = model.detection_features(torch.randn(1, 3, 224, 224))
    assert list(features) == ['neck']
    assert features['neck'].shape == (1, 768, 16, 16)


def test_arch_table_covers_requested_names():
    for name in ('rope_vit_reg4_b14', 'rope_vit_b14', 'rope_vit_s14', 'rope_vit_t16', 'rope_vit_l14',
                 'rope_vit_reg4_l16', 'rope_vit_reg1_t14'):
        assert name in ARCH_SETTINGS


def test_unknown_arch_lists_valid_names():
    with pytest.raises(ValueError, match='Unknown arch .rope_vit_x14.*rope_vit_reg4_b14'):
        RoPEViT(arch='rope_vit_x14')


def test_arch_dict_missing_field_rejected():
    arch = dict(TINY)
    del arch['num_heads']
    with pytest.raises(ValueError, match='missing fields .*num_heads'):
        RoPEViT(arch=arch)


def test_misspelt_rope_mode_lists_valid_values():
    with pytest.raises(ValueError, match='extrapolate, interpolate'):
        tiny_model(rope_mode='interpolation')


def test_frozen_stages_beyond_depth_rejected():
    with pytest.raises(ValueError, match='between -1 and 3'):
        tiny_model(frozen_stages=4)


def test_out_indices_out_of_range_rejected():
    with pytest.raises(ValueError, match='out of range'):
        tiny_model(out_indices=(3,))


@pytest.mark.parametrize('height,width', [(14, 14), (13, 13), (1, 1), (20, 2000), (500, 333), (333, 500)])
def test_output_grid_is_ceil_of_input(height, width):
    model = tiny_model().eval()
    with torch.inference_mode():
        (out,) = model(torch.randn(2, 3, height, width))
    assert out.shape == (2, 48, -(-height // 14), -(-width // 14))


def test_out_indices_and_final_norm():
    model = tiny_model(out_indices=(0, -1), final_norm=True).eval()
    assert model.out_indices == (0, 2)
    assert model.out_channels == [48, 48]
    x = torch.randn(1, 3, 56, 42)
    with torch.inference_mode():
        first, last = model(x)
        raw = model.detection_features(x)['neck']
        expected = model.norm(raw.flatten(2).transpose(1, 2)).transpose(1, 2).reshape_as(raw)
    assert first.shape == last.shape == (1, 48, 4, 3)
    torch.testing.assert_close(last, expected)


def test_non_square_orientation_kept():
    """A wide and a tall input give transposed grids, never swapped axes."""
    model = tiny_model().eval()
    x = torch.randn(1, 3, 28, 70)
    with torch.inference_mode():
        wide = model(x)[0]
        tall = model(x.transpose(2, 3))[0]
    assert wide.shape[-2:] == (2, 5)
    assert tall.shape[-2:] == (5, 2)


def test_invalid_inputs_rejected():
    model = tiny_model().eval()
    with pytest.raises(ValueError, match='expects 3 input channels, got 1'):
        model(torch.randn(1, 1, 28, 28))
    with pytest.raises(ValueError, match='expects 3 input channels, got 4'):
        model(torch.randn(1, 4, 28, 28))
    with pytest.raises(ValueError, match='empty batch'):
        model(torch.randn(0, 3, 28, 28))
    with pytest.raises(ValueError, match='NCHW'):
        model(torch.randn(3, 28, 28))


def test_nan_input_propagates_to_output():
    """NaN pixels are not checked: they make the whole map NaN, as documented."""
    model = tiny_model().eval()
    x = torch.randn(1, 3, 28, 28)
    x[0, 0, 0, 0] = float('nan')
    with torch.inference_mode():
        out = model(x)[0]
    assert torch.isnan(out).all()


def test_state_dict_round_trip_across_sizes():
    model = tiny_model().eval()
    with torch.inference_mode():
        model(torch.randn(1, 3, 98, 70))  # fills the RoPE and position caches
    state = model.state_dict()
    assert not any('rope' in key for key in state)
    other = tiny_model(pretrain_size=224).eval()
    other.load_state_dict(state, strict=True)
    x = torch.randn(1, 3, 56, 84)
    with torch.inference_mode():
        torch.testing.assert_close(other(x)[0], model(x)[0], rtol=0, atol=0)


def test_rope_tables_built_once_per_grid():
    model = tiny_model().eval()
    x = torch.randn(1, 3, 70, 70)
    with torch.inference_mode():
        model(x)
        tables = model.rope.get_tables((5, 5), x.device)
        model(x)
    assert model.rope.get_tables((5, 5), x.device)[0] is tables[0]


def test_position_cache_follows_parameter_updates():
    model = tiny_model().eval()
    x = torch.randn(1, 3, 70, 70)
    with torch.inference_mode():
        before = model(x)[0]
        assert model(x)[0].equal(before)
    with torch.no_grad():
        model.pos_embedding.add_(1.0)
    with torch.inference_mode():
        after = model(x)[0]
    assert not after.equal(before)


def test_training_after_inference_mode_forward():
    """Caches filled under torch.inference_mode must not break a later backward."""
    model = tiny_model().eval()
    x = torch.randn(1, 3, 70, 84)
    with torch.inference_mode():
        model(x)
    model.train()
    model(x)[0].sum().backward()
    model.eval()
    with torch.no_grad():
        model(x)
    for param in model.parameters():
        param.requires_grad_(False)
    model.pos_embedding.requires_grad_(False)
    model.conv_proj.weight.requires_grad_(True)
    model(x)[0].sum().backward()
    assert model.conv_proj.weight.grad is not None


def test_eval_forward_repeatable_with_drop_path():
    model = tiny_model(drop_path_rate=0.5).eval()
    x = torch.randn(2, 3, 42, 42)
    with torch.inference_mode():
        assert model(x)[0].equal(model(x)[0])
    rates = [block.drop_path.p for block in model.encoder.block]
    assert rates == pytest.approx([0.0, 0.25, 0.5])


def test_drop_path_active_in_training():
    model = tiny_model(drop_path_rate=0.9).train()
    x = torch.randn(4, 3, 42, 42)
    assert not model(x)[0].equal(model(x)[0])


def test_activation_checkpointing_same_gradients():
    x = torch.randn(2, 3, 42, 56)
    grads = []
    for with_cp in (False, True):
        torch.manual_seed(3)
        model = tiny_model(with_cp=with_cp).train()
        model(x)[0].square().mean().backward()
        # The final norm is unused without final_norm, so it has no gradient.
        grads.append({name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None})
    assert len(grads[0]) == len(list(model.parameters())) - 2
    assert not model.norm.weight.requires_grad
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], msg=name)


def test_frozen_stages_freeze_and_stay_frozen():
    model = tiny_model(frozen_stages=2, final_norm=True)
    frozen = ['conv_proj.weight', 'class_token', 'reg_tokens', 'pos_embedding', 'encoder.block.0.norm1.weight',
              'encoder.block.1.mlp.3.bias']
    params = dict(model.named_parameters())
    for name in frozen:
        assert not params[name].requires_grad, name
    assert params['encoder.block.2.attn.qkv.weight'].requires_grad
    assert params['norm.weight'].requires_grad

    model.train()
    assert not model.encoder.block[1].training
    assert model.encoder.block[2].training

    before = {name: p.detach().clone() for name, p in params.items()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=0.1, weight_decay=0.1)
    model(torch.randn(2, 3, 42, 42))[0].sum().backward()
    optimizer.step()
    for name in frozen:
        assert params[name].equal(before[name]), name
    assert not params['encoder.block.2.attn.qkv.weight'].equal(before['encoder.block.2.attn.qkv.weight'])


def test_bfloat16_autocast_forward_backward():
    model = tiny_model().train()
    x = torch.randn(2, 3, 42, 56)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(x)[0]
    # Linear layers run in bfloat16; the residual stream stays float32.
    assert out.dtype in (torch.bfloat16, torch.float32)
    assert torch.isfinite(out.float()).all()
    out.float().square().mean().backward()
    for name, param in model.named_parameters():
        if name.startswith('norm.'):
            continue  # unused without final_norm
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


def test_rope_rotation_in_float32_under_bfloat16():
    from ropevit_mm.models.layers import RotaryEmbedding2D
    rope = RotaryEmbedding2D(16, num_special_tokens=1)
    sin, cos = rope.get_tables((3, 4), torch.device('cpu'))
    assert sin.dtype == cos.dtype == torch.float32
    assert sin.shape == (13, 16)
    x = torch.randn(1, 2, 13, 16)
    rotated = RotaryEmbedding2D.rotate(x.bfloat16(), sin, cos)
    assert rotated.dtype == torch.bfloat16
    torch.testing.assert_close(rotated.float(), RotaryEmbedding2D.rotate(x.bfloat16().float(), sin, cos).bfloat16().float())
    # The special token row is left unchanged.
    assert rotated[:, :, 0].equal(x.bfloat16()[:, :, 0])


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_builds_from_registry(scope):
    registry = pytest.importorskip(f'{scope}.registry')
    import ropevit_mm  # noqa: F401
    model = registry.MODELS.build(dict(type='RoPEViT', arch=dict(TINY)))
    assert isinstance(model, RoPEViT)
