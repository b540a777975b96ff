"""Training components: optimizer wrappers and constructors, hooks."""
from .amp_optim_wrapper import AnyDeviceAmpOptimWrapper
from .checkpoint_hook import ResumableCheckpointHook
from .layer_decay_constructor import LayerDecayOptimWrapperConstructor

__all__ = ['AnyDeviceAmpOptimWrapper', 'LayerDecayOptimWrapperConstructor', 'ResumableCheckpointHook']
