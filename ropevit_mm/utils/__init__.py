from .config import set_data_root
from .plugin_check import PLUGIN_IMPORT_LINE, check_plugin_imports, plugin_type_names

__all__ = ['PLUGIN_IMPORT_LINE', 'check_plugin_imports', 'plugin_type_names', 'set_data_root']
