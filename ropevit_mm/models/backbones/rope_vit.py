"""RoPE Vision Transformer backbone, feature-exact with Birder's ``rope_vit``.

Birder's network (``birder/net/rope_vit.py``, Birder 0.8.4) combines a learned
absolute position embedding, which also covers the special tokens, with a 2D
rotary position embedding on the patch tokens. Parameter names follow
Birder's state dict (``conv_proj``, ``reg_tokens``, ``class_token``,
``pos_embedding``, ``encoder.block.{i}``, ``norm``), so Birder checkpoints
load without renaming.
"""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import nn
from torchvision.ops import StochasticDepth

from ..layers.rope import RotaryEmbedding2D
from .rope_vit_archs import resolve_arch


def resize_pos_embedding(pos_embedding: torch.Tensor, num_special_tokens: int,
                         src_grid: Tuple[int, int], dst_grid: Tuple[int, int]) -> torch.Tensor:
    """Resize the patch part of a position embedding to another token grid.

    Uses bicubic interpolation without antialiasing, in float32, as Birder
    does in dynamic-size mode. Special-token rows are kept unchanged.

    Args:
        pos_embedding (Tensor): Shape ``(1, special + src_h * src_w, C)``.
        num_special_tokens (int): Rows before the patch rows.
        src_grid (tuple[int, int]): Grid of the patch rows, (rows, columns).
        dst_grid (tuple[int, int]): Grid to resize to.

    Returns:
        Tensor: Shape ``(1, special + dst_h * dst_w, C)``, same dtype.
    """
    if tuple(src_grid) == tuple(dst_grid):
        return pos_embedding
    special = pos_embedding[:, :num_special_tokens]
    patches = pos_embedding[:, num_special_tokens:]
    channels = patches.shape[-1]
    # (1, H*W, C) -> (1, C, H, W)
    patches = patches.float().reshape(1, src_grid[0], src_grid[1], channels).permute(0, 3, 1, 2)
    patches = F.interpolate(patches, size=tuple(dst_grid), mode='bicubic', antialias=False)
    patches = patches.permute(0, 2, 3, 1).reshape(1, -1, channels).to(pos_embedding.dtype)
    return torch.cat((special, patches), dim=1)


class RoPEAttention(nn.Module):
    """Multi-head self-attention with RoPE on the patch tokens."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
        batch, tokens, channels = x.shape
        # qkv: (3, B, heads, N, head_dim)
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        v = qkv[2]
        # Rotating q and k in one call halves the elementwise passes.
        q, k = RotaryEmbedding2D.rotate(qkv[:2], sin, cos).unbind(0)
        if v.is_cpu and not torch.is_grad_enabled():
            # Without autograd the rotation returns contiguous q and k. The CPU
            # flash-attention kernel of torch 2.14 ran about 8% faster on
            # contiguous (B, heads, N, head_dim) q, k and v than on views of
            # the qkv output (N = 5481, 2-core AMD EPYC), with identical
            # results, which outweighs copying v and the output.
            v = v.contiguous()

        x = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        x = x.transpose(1, 2).reshape(batch, tokens, channels)
        return self.proj(x)


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: attention and MLP, each with drop path."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, drop_path: float,
                 norm_eps: float = 1e-6) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = RoPEAttention(dim, num_heads)
        self.drop_path = StochasticDepth(drop_path, mode='row')
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        # Indices 0 and 3 hold the two linear layers, as in Birder's FFN.
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(0.0), nn.Linear(mlp_dim, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            x = x + self.drop_path(self.attn(self.norm1(x), sin, cos))
            return x + self.drop_path(self.mlp(self.norm2(x)))

        # Without autograd, GELU and both residual additions run in place on
        # tensors this block allocated, never on the input, which the caller
        # may keep as an output. Float addition is commutative, so
        # ``attn_out.add_(x)`` equals ``x + attn_out`` bit for bit.
        x = self.drop_path(self.attn(self.norm1(x), sin, cos)).add_(x)
        hidden = self.mlp[0](self.norm2(x))
        hidden = torch.ops.aten.gelu_(hidden, approximate=self.mlp[1].approximate)
        return x.add_(self.drop_path(self.mlp[4](self.mlp[3](self.mlp[2](hidden)))))


class Encoder(nn.Module):
    """Container that gives the blocks Birder's ``encoder.block.{i}`` names."""

    def __init__(self, blocks: List[EncoderBlock]) -> None:
        super().__init__()
        self.block = nn.ModuleList(blocks)


@MODELS.register_module()
class RoPEViT(BaseModule):
    """Birder's RoPE ViT as a dense-prediction backbone.

    Input: an NCHW float tensor of any size of at least one patch. When H or
    W is not a multiple of the patch size, the input is zero-padded at the
    bottom and right to the next multiple, so the output grid is
    ``ceil(H / p) x ceil(W / p)``.

    Output: a tuple of NCHW maps with ``embed_dims`` channels and stride
    ``patch_size``, one per entry of ``out_indices``. The default is the last
    block's patch tokens without the final norm, which Birder returns from
    ``detection_features`` (the model card calls this map ``neck``).

    Args:
        arch (str | dict): Birder network name such as ``'rope_vit_reg4_b14'``,
            or a dict with Birder's config fields (see ``rope_vit_archs``).
        pretrain_size (int | tuple[int, int]): Image size the position
            embedding was trained for; 224 gives the 16x16 grid of the
            ``b14`` checkpoints. Checkpoints for another grid are resized to
            this one on load.
        in_channels (int): Input channels. Defaults to 3.
        out_indices (Sequence[int]): Blocks whose patch tokens are returned;
            negative values count from the end. Defaults to ``(-1,)``.
        final_norm (bool): Apply the final LayerNorm to the outputs.
            Defaults to False, as in Birder's detection features.
        rope_mode (str): ``'extrapolate'`` (integer patch coordinates, Birder
            without ``pt_grid_size``) or ``'interpolate'`` (coordinates
            rescaled onto the pretraining grid, Birder's ``pt_grid_size``).
        drop_path_rate (float, optional): Stochastic depth at the last block,
            linear from 0 at the first. None takes the architecture's
            default (0.1 for ViT-B, 0.0 for ViT-S).
        with_cp (bool): Use activation checkpointing per block in training.
        frozen_stages (int): -1 freezes nothing; 0 freezes the patch
            embedding, position embedding and special tokens; k > 0 also
            freezes blocks 0 to k - 1. At most the number of blocks.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=...)``
            loads Birder ``.pt`` or ``.safetensors`` files, plain state dicts
            or mmengine checkpoints; ``checkpoint`` may also name published
            weights such as ``'rope_vit_reg4_b14_capi'``. Add
            ``strict=False`` to tolerate missing or unexpected keys.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'rope_vit_reg4_b14',
                 pretrain_size: Union[int, Tuple[int, int]] = 224,
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (-1,),
                 final_norm: bool = False,
                 rope_mode: str = 'extrapolate',
                 drop_path_rate: Optional[float] = None,
                 with_cp: bool = False,
                 frozen_stages: int = -1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        settings = resolve_arch(arch)
        self.arch_name = arch if isinstance(arch, str) else 'custom'
        self.arch_settings = settings
        self.patch_size = settings['patch_size']
        self.embed_dims = settings['hidden_dim']
        self.num_layers = settings['num_layers']
        self.num_heads = settings['num_heads']
        self.num_reg_tokens = settings['num_reg_tokens']
        self.num_special_tokens = self.num_reg_tokens + 1
        if in_channels < 1:
            raise ValueError(f'in_channels must be positive, got {in_channels}')
        self.in_channels = in_channels

        if isinstance(pretrain_size, int):
            pretrain_size = (pretrain_size, pretrain_size)
        self.pretrain_size = tuple(pretrain_size)
        self.pretrain_grid = (self.pretrain_size[0] // self.patch_size,
                              self.pretrain_size[1] // self.patch_size)

        self.out_indices = self._normalize_out_indices(out_indices)
        self.final_norm = final_norm
        self.with_cp = with_cp
        if not -1 <= frozen_stages <= self.num_layers:
            raise ValueError(f'frozen_stages must be between -1 and {self.num_layers} (the number of '
                             f'blocks of {self.arch_name}), got {frozen_stages}')
        self.frozen_stages = frozen_stages
        if drop_path_rate is None:
            drop_path_rate = settings['drop_path_rate']
        self.drop_path_rate = drop_path_rate

        # Attributes that necks, heads and configs read.
        self.out_channels = [self.embed_dims] * len(self.out_indices)
        self.out_strides = [self.patch_size] * len(self.out_indices)
        self.stride = self.patch_size

        # Patch embedding and special tokens, in Birder's token order
        # [REG x num_reg_tokens, CLS, patches].
        self.conv_proj = nn.Conv2d(in_channels, self.embed_dims, self.patch_size, stride=self.patch_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        if self.num_reg_tokens > 0:
            self.reg_tokens = nn.Parameter(torch.zeros(1, self.num_reg_tokens, self.embed_dims))
        else:
            self.reg_tokens = None
        num_positions = self.num_special_tokens + self.pretrain_grid[0] * self.pretrain_grid[1]
        self.pos_embedding = nn.Parameter(torch.zeros(1, num_positions, self.embed_dims))

        self.rope = RotaryEmbedding2D(
            self.embed_dims // self.num_heads,
            self.num_special_tokens,
            temperature=100.0,
            mode=rope_mode,
            pretrain_grid_size=self.pretrain_grid)

        # Birder's linear rule: torch.linspace(0, rate, num_layers).
        rates = torch.linspace(0.0, drop_path_rate, steps=self.num_layers).tolist()
        self.encoder = Encoder([
            EncoderBlock(self.embed_dims, self.num_heads, settings['mlp_dim'], rates[i])
            for i in range(self.num_layers)
        ])
        self.norm = nn.LayerNorm(self.embed_dims, eps=1e-6)
        if not final_norm:
            # Without final_norm the outputs never pass this norm, so it would get
            # no gradient, which DistributedDataParallel rejects. It is kept for
            # embed() and for strict loading of Birder checkpoints.
            self.norm.requires_grad_(False)

        self._pos_cache: 'OrderedDict[tuple, torch.Tensor]' = OrderedDict()
        self._init_random_weights()
        self._freeze_stages()

    # ------------------------------------------------------------------ setup

    def _normalize_out_indices(self, out_indices: Union[int, Sequence[int]]) -> Tuple[int, ...]:
        if isinstance(out_indices, int):
            out_indices = (out_indices,)
        normalized = []
        for index in out_indices:
            if not -self.num_layers <= index < self.num_layers:
                raise ValueError(f'out_indices entry {index} is out of range for {self.num_layers} blocks; '
                                 f'valid values are {-self.num_layers} to {self.num_layers - 1}')
            normalized.append(index % self.num_layers)
        if not normalized:
            raise ValueError('out_indices must name at least one block')
        return tuple(normalized)

    def _init_random_weights(self) -> None:
        """Initialise as Birder does, so that untrained models behave alike."""
        nn.init.normal_(self.pos_embedding, std=0.02)
        fan_in = self.in_channels * self.patch_size * self.patch_size
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)
        for block in self.encoder.block:
            for linear in (block.attn.qkv, block.attn.proj):
                nn.init.trunc_normal_(linear.weight, std=0.02)
                nn.init.zeros_(linear.bias)

    def stage_modules(self, stage: int) -> List[nn.Module]:
        """Return the modules that stage ``stage`` adds (0: embeddings, k: block k - 1)."""
        if stage == 0:
            return [self.conv_proj]
        return [self.encoder.block[stage - 1]]

    def stage_parameters(self, stage: int) -> List[nn.Parameter]:
        params = [p for module in self.stage_modules(stage) for p in module.parameters()]
        if stage == 0:
            params += [self.class_token, self.pos_embedding]
            if self.reg_tokens is not None:
                params.append(self.reg_tokens)
        return params

    def _freeze_stages(self) -> None:
        for stage in range(self.frozen_stages + 1):
            for param in self.stage_parameters(stage):
                param.requires_grad_(False)
            for module in self.stage_modules(stage):
                module.eval()

    def train(self, mode: bool = True) -> 'RoPEViT':
        super().train(mode)
        # Frozen stages stay in eval mode, so drop path never fires there.
        self._freeze_stages()
        return self

    def init_weights(self) -> None:
        """Load the checkpoint named by ``init_cfg``, or keep the random init."""
        init_cfg = self.init_cfg
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            from ...checkpoint import load_backbone_checkpoint
            load_backbone_checkpoint(
                self,
                init_cfg['checkpoint'],
                strict=init_cfg.get('strict', True),
                prefix=init_cfg.get('prefix'))
            self._is_init = True
            self._pos_cache.clear()
            return
        super().init_weights()

    # ---------------------------------------------------------------- forward

    def _position_embedding(self, grid: Tuple[int, int]) -> torch.Tensor:
        """Return the position embedding for a token grid.

        Outside autograd the resized embedding is cached; the key includes
        the parameter's version counter, so an in-place update such as an
        optimizer step invalidates it.
        """
        if grid == self.pretrain_grid:
            return self.pos_embedding
        if torch.is_grad_enabled() and self.pos_embedding.requires_grad:
            return resize_pos_embedding(self.pos_embedding, self.num_special_tokens, self.pretrain_grid, grid)

        param = self.pos_embedding
        key = (grid, param.device, param.dtype, param._version, param.data_ptr())
        cached = self._pos_cache.get(key)
        if cached is None:
            with torch.inference_mode(False), torch.no_grad():
                cached = resize_pos_embedding(param, self.num_special_tokens, self.pretrain_grid, grid)
            self._pos_cache[key] = cached
            if len(self._pos_cache) > 16:
                self._pos_cache.popitem(last=False)
        return cached

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f'RoPEViT expects an NCHW tensor, got {shape}')
        if x.shape[0] == 0:
            raise ValueError('RoPEViT received an empty batch (batch size 0)')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'RoPEViT expects {self.in_channels} input channels, got {x.shape[1]} '
                             f'(input shape {tuple(x.shape)}); convert images to RGB first')

    def _tokens(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Embed an image batch into the token sequence [REG, CLS, patches] with positions."""
        self._check_input(x)
        height, width = x.shape[-2:]
        pad_h = -height % self.patch_size
        pad_w = -width % self.patch_size
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))

        x = self.conv_proj(x)
        grid = (x.shape[2], x.shape[3])
        # (B, C, h, w) -> (B, h*w, C)
        x = x.flatten(2).transpose(1, 2)

        special = [self.class_token.expand(x.shape[0], -1, -1)]
        if self.reg_tokens is not None:
            special.insert(0, self.reg_tokens.expand(x.shape[0], -1, -1))
        x = torch.cat(special + [x], dim=1)

        x = x + self._position_embedding(grid)
        return x, grid

    def _run_blocks(self, x: torch.Tensor, grid: Tuple[int, int],
                    keep: Sequence[int]) -> Dict[int, torch.Tensor]:
        """Run the encoder and return the token sequences after the blocks in ``keep``."""
        sin, cos = self.rope.get_tables(grid, x.device)
        last = max(keep)
        outputs = {}
        for index, block in enumerate(self.encoder.block[:last + 1]):
            if self.with_cp and self.training and torch.is_grad_enabled():
                x = cp.checkpoint(block, x, sin, cos, use_reentrant=False)
            else:
                x = block(x, sin, cos)
            if index in keep:
                outputs[index] = x
        return outputs

    def _to_map(self, tokens: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        # (B, special + h*w, C) -> contiguous (B, C, h, w). A strided view would
        # pass channels-last strides on to the neck, and mmcv's RoIAlign misreads those.
        patches = tokens[:, self.num_special_tokens:]
        return patches.transpose(1, 2).reshape(tokens.shape[0], self.embed_dims, grid[0], grid[1]).contiguous()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return one NCHW map of stride ``patch_size`` per entry of ``out_indices``."""
        tokens, grid = self._tokens(x)
        outputs = self._run_blocks(tokens, grid, self.out_indices)
        maps = []
        for index in self.out_indices:
            out = outputs[index]
            if self.final_norm:
                out = self.norm(out)
            maps.append(self._to_map(out, grid))
        return tuple(maps)

    def detection_features(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Return ``{'neck': map}``: the last block's patch tokens, no final norm."""
        tokens, grid = self._tokens(x)
        last = self.num_layers - 1
        return {'neck': self._to_map(self._run_blocks(tokens, grid, (last,))[last], grid)}

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the image embedding ``(B, C)``: the class token after the final norm."""
        tokens, grid = self._tokens(x)
        last = self.num_layers - 1
        tokens = self.norm(self._run_blocks(tokens, grid, (last,))[last])
        return tokens[:, self.num_reg_tokens]
