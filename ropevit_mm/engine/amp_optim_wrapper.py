"""Mixed-precision optimizer wrapper that also trains on CPU in bfloat16."""
import torch
from mmengine.device import is_cuda_available, is_mlu_available, is_musa_available, is_npu_available
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


def _accelerator_available() -> bool:
    return is_cuda_available() or is_npu_available() or is_mlu_available() or is_musa_available()


@OPTIM_WRAPPERS.register_module()
class AnyDeviceAmpOptimWrapper(AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper``, plus bfloat16 autocast on CPU-only machines.

    mmengine 0.10.7's ``AmpOptimWrapper`` asserts that a GPU (or NPU, MLU,
    MUSA) is present. With one, this class is exactly that wrapper. Without
    one, it trains under ``torch.autocast('cpu', torch.bfloat16)`` through
    mmengine's ``autocast``, with loss scaling disabled: bfloat16 has
    float32's exponent range, so gradients do not underflow.

    Args:
        loss_scale, dtype, use_fsdp: as ``AmpOptimWrapper``. On CPU,
            ``dtype`` must be None or bfloat16.
    """

    def __init__(self, loss_scale='dynamic', dtype=None, use_fsdp: bool = False, **kwargs) -> None:
        if _accelerator_available():
            super().__init__(loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)
            return
        if dtype not in (None, 'bfloat16', torch.bfloat16):
            raise ValueError(f'mixed precision on CPU supports bfloat16 only, got dtype={dtype}; '
                             'float16 needs a GPU')
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
        self.cast_dtype = torch.bfloat16
