"""Let ``torch.load(weights_only=True)`` read the checkpoints that mmengine writes.

torch >= 2.6 loads with ``weights_only=True`` by default and mmengine 0.10.7 calls
``torch.load`` without the argument, so ``--resume`` and ``load_from`` of mmengine's own
checkpoints fail with ``UnpicklingError: Weights only load failed``: the ``message_hub``
holds ``HistoryBuffer`` objects with numpy arrays, numpy scalars, and a dict of statistics
methods pickled as ``getattr(HistoryBuffer, 'mean')``. Instead of turning the check off, the
few types mmengine writes are allow-listed. ``getattr`` is the one general builtin among
them, so under its pickled name we allow a narrow stand-in that resolves only
``HistoryBuffer``'s registered statistics methods; everything else is still refused.
"""
from __future__ import annotations

import numpy as np
import torch


def _numpy_globals() -> list:
    from numpy._core.multiarray import _reconstruct, scalar
    dtypes = {type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGUSOV'}
    return [_reconstruct, scalar, np.ndarray, np.dtype, *sorted(dtypes, key=str)]


def _history_buffer_method(obj, name: str):
    """``getattr`` restricted to ``HistoryBuffer.<registered statistics method>``."""
    from mmengine.logging import HistoryBuffer
    # HistoryBuffer fills _statistics_methods with these four in __init__, so in a fresh
    # process the dict may still be empty; custom ones are added by register_statistics.
    allowed = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise torch.serialization.pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only HistoryBuffer statistics '
        'methods are allowed (mmgeneralist.utils.checkpoint)')


def allow_mmengine_checkpoints() -> None:
    """Add mmengine's checkpoint types to torch's weights-only allow-list (idempotent)."""
    from mmengine.logging import HistoryBuffer
    torch.serialization.add_safe_globals([
        HistoryBuffer, *_numpy_globals(), (_history_buffer_method, 'builtins.getattr')
    ])
