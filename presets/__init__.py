"""Built-in presets, shipped in the wheel as ``shortgen.builtin_presets``."""
