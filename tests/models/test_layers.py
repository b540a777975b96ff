"""LayerNorm2d: channel-wise normalisation that hands back contiguous NCHW maps."""
import torch

from ropevit_mm.models.layers.norm import LayerNorm2d


def test_layer_norm_2d_per_location():
    torch.manual_seed(0)
    norm = LayerNorm2d(8)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, 8, 5, 7) * 3 + 1
    mean = x.mean(dim=1, keepdim=True)
    var = x.var(dim=1, unbiased=False, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + norm.eps) * norm.weight[:, None, None] + norm.bias[:, None, None]
    torch.testing.assert_close(norm(x), expected, rtol=1e-5, atol=1e-5)


def test_layer_norm_2d_contiguous_output():
    # mmcv's RoIAlign reads raw NCHW memory, so channels-last strides scramble its input.
    norm = LayerNorm2d(8)
    x = torch.randn(2, 8, 5, 7, requires_grad=True)
    out = norm(x)
    assert out.is_contiguous()
    conv = torch.nn.Conv2d(8, 4, 3, padding=1)
    assert conv(out).is_contiguous()
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
