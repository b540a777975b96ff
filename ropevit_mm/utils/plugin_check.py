"""Detect configs that use plugin types without importing the plugin."""
from typing import Iterator, Set

PLUGIN_IMPORT_LINE = "custom_imports = dict(imports=['ropevit_mm'], allow_failed_imports=False)"

_REGISTRIES = ('MODELS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIM_WRAPPERS', 'HOOKS', 'TRANSFORMS', 'DATASETS',
               'METRICS', 'LOOPS')


def plugin_type_names() -> Set[str]:
    """Return the type names this package registers, in mmengine's, mmdet's and mmseg's registries."""
    import importlib

    import ropevit_mm  # noqa: F401  (registers the modules)

    names = set()
    for module_name in ('mmengine.registry', 'mmdet.registry', 'mmseg.registry'):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for registry_name in _REGISTRIES:
            registry = getattr(module, registry_name, None)
            if registry is None:
                continue
            for name, obj in registry.module_dict.items():
                if getattr(obj, '__module__', '').startswith('ropevit_mm.'):
                    names.add(name)
    return names


def _config_types(node) -> Iterator[str]:
    if isinstance(node, dict):
        value = node.get('type')
        if isinstance(value, str):
            yield value.split('.')[-1]
        for child in node.values():
            yield from _config_types(child)
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from _config_types(child)


def check_plugin_imports(cfg) -> None:
    """Raise when ``cfg`` names a plugin type but does not import ``ropevit_mm``.

    Without the import, a run started by mmdet's or mmseg's own tools fails
    with a bare registry KeyError; this check names the missing line.

    Raises:
        KeyError: naming the plugin types found and the line to add.
    """
    used = sorted(set(_config_types(cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg)) & plugin_type_names())
    if not used:
        return
    custom_imports = cfg.get('custom_imports') or {}
    imports = custom_imports.get('imports', [])
    if isinstance(imports, str):
        imports = [imports]
    if not any(name == 'ropevit_mm' or name.startswith('ropevit_mm.') for name in imports):
        raise KeyError(f'The config uses {", ".join(used)} from the ropevit_mm plugin but does not import it. '
                       f'Add this line to the config: {PLUGIN_IMPORT_LINE}')
