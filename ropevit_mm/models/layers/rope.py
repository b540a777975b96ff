"""2D rotary position embedding (RoPE) for ViT patch tokens.

The tables follow Birder's ``rope_vit`` "default" style: per head, ``dim // 4``
frequency bands ``temperature ** -(i / bands)`` for each of the two axes, the
angle of axis ``a`` being ``coord_a * band``. Angles are laid out as
``[y bands, x bands]`` ("ij" grid indexing), and sin and cos are each repeated
twice along the last axis (``repeat_interleave``). Rotation uses the
rotate-half form ``x * cos + rotate_half(x) * sin``.
"""
from collections import OrderedDict
from typing import Optional, Tuple

import torch
from torch import nn

ROPE_MODES = ('extrapolate', 'interpolate')


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """Map ``[x1, x2]`` halves of the last axis to ``[-x2, x1]``."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def build_rope_tables(dim: int,
                      grid_size: Tuple[int, int],
                      temperature: float = 100.0,
                      pretrain_grid_size: Optional[Tuple[int, int]] = None,
                      device: Optional[torch.device] = None
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Build float32 sin and cos tables for a patch grid.

    Args:
        dim (int): Head dimension; must be a multiple of 4.
        grid_size (tuple[int, int]): Token grid as (rows, columns).
        temperature (float): Base of the frequency bands. Defaults to 100.
        pretrain_grid_size (tuple[int, int], optional): When given, the
            coordinates are rescaled so that ``grid_size`` spans this grid
            (interpolation). When None, coordinates are the integer patch
            positions (extrapolation).
        device (torch.device, optional): Device of the tables.

    Returns:
        tuple[Tensor, Tensor]: ``(sin, cos)``, each of shape
        ``(rows * columns, dim)`` in row-major token order.
    """
    if dim % 4 != 0:
        raise ValueError(f'RoPE needs a head dimension divisible by 4, got {dim}')
    num_bands = dim // 4
    bands = 1.0 / (temperature**(torch.arange(num_bands, device=device) / num_bands))

    if pretrain_grid_size is None:
        pretrain_grid_size = grid_size
    # The same arithmetic as Birder, (i / size) * pretrain_size, so that the
    # extrapolation coordinates round exactly as there.
    axes = [
        torch.arange(size, device=device) / size * pretrain
        for size, pretrain in zip(grid_size, pretrain_grid_size)
    ]
    coords = torch.stack(torch.meshgrid(axes, indexing='ij'), dim=-1).reshape(-1, 2)

    # angles: (tokens, 2, bands) -> (tokens, 2 * bands) -> (tokens, dim)
    angles = (coords.unsqueeze(-1) * bands).flatten(-2)
    sin = angles.sin().repeat_interleave(2, dim=-1)
    cos = angles.cos().repeat_interleave(2, dim=-1)
    return sin, cos


class RotaryEmbedding2D(nn.Module):
    """Cache of 2D RoPE tables and their application to queries and keys.

    Tables depend only on the grid size, the device and the special-token
    count, so they are built once per grid and device and kept in a small
    cache. They are never stored in the state dict, so a model saved at one
    input size loads with ``strict=True`` into a model built at another.

    The cached tables cover the whole sequence: special tokens get the
    identity rotation (cos 1, sin 0), which leaves them unchanged exactly
    and avoids splitting and concatenating q and k per block.

    Args:
        head_dim (int): Dimension per attention head.
        num_special_tokens (int): Tokens before the patches that are not
            rotated (register tokens and the class token).
        temperature (float): Base of the frequency bands.
        mode (str): ``'extrapolate'`` uses integer patch coordinates,
            ``'interpolate'`` rescales them onto ``pretrain_grid_size``.
        pretrain_grid_size (tuple[int, int]): Grid of the pretraining
            resolution, used by ``'interpolate'``.
        cache_size (int): Number of grid sizes kept. Defaults to 32.
    """

    def __init__(self,
                 head_dim: int,
                 num_special_tokens: int,
                 temperature: float = 100.0,
                 mode: str = 'extrapolate',
                 pretrain_grid_size: Tuple[int, int] = (16, 16),
                 cache_size: int = 32) -> None:
        super().__init__()
        if mode not in ROPE_MODES:
            raise ValueError(f"Invalid rope_mode '{mode}'; valid values are {', '.join(ROPE_MODES)}")
        self.head_dim = head_dim
        self.num_special_tokens = num_special_tokens
        self.temperature = temperature
        self.mode = mode
        self.pretrain_grid_size = tuple(pretrain_grid_size)
        self.cache_size = cache_size
        self._cache: 'OrderedDict[tuple, Tuple[torch.Tensor, torch.Tensor]]' = OrderedDict()

    def extra_repr(self) -> str:
        return (f'head_dim={self.head_dim}, mode={self.mode}, temperature={self.temperature}, '
                f'pretrain_grid_size={self.pretrain_grid_size}')

    def get_tables(self, grid_size: Tuple[int, int],
                   device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return float32 ``(sin, cos)`` of shape ``(special + rows * cols, head_dim)``."""
        key = (tuple(grid_size), device)
        tables = self._cache.get(key)
        if tables is not None:
            self._cache.move_to_end(key)
            return tables

        pretrain = self.pretrain_grid_size if self.mode == 'interpolate' else None
        # Tables built inside torch.inference_mode would be inference tensors,
        # which autograd refuses to save in a later training forward.
        with torch.inference_mode(False), torch.no_grad():
            sin, cos = build_rope_tables(
                self.head_dim, tuple(grid_size), self.temperature, pretrain, device=device)
            special = self.num_special_tokens
            sin = torch.cat((sin.new_zeros(special, self.head_dim), sin))
            cos = torch.cat((cos.new_ones(special, self.head_dim), cos))

        self._cache[key] = (sin, cos)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return sin, cos

    @staticmethod
    def rotate(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
        """Rotate ``x`` (..., tokens, head_dim) in float32 and cast back to its dtype."""
        if x.dtype != torch.float32:
            x32 = x.float()
            return (x32 * cos + rotate_half(x32) * sin).to(x.dtype)
        if torch.is_grad_enabled():
            return x * cos + rotate_half(x) * sin
        return _rotate_no_grad(x, sin, cos)


def _rotate_no_grad(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
    """Compute ``x * cos + rotate_half(x) * sin`` bit for bit, into a contiguous tensor.

    Besides the result, the unfused formula allocates four temporaries
    (``-x2``, the concatenation and two products). Here both half products
    go into one buffer that is subtracted or added in place. That gives the
    same float32 results, because ``a + (-b) * s`` and ``a - b * s`` round
    identically. ``out=`` arguments do not support autograd, so this path
    serves only ``torch.no_grad`` and ``torch.inference_mode``.
    """
    half = x.shape[-1] // 2
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    torch.mul(x, cos, out=out)
    products = torch.empty_like(out)
    # products = [x2 * sin1, x1 * sin2]
    torch.mul(x[..., half:], sin[..., :half], out=products[..., :half])
    torch.mul(x[..., :half], sin[..., half:], out=products[..., half:])
    out[..., :half].sub_(products[..., :half])
    out[..., half:].add_(products[..., half:])
    return out
