"""mmengine checkpoints: loading them weights-only, writing them atomically, checking a resume.

**Loading.** torch >= 2.6 loads with ``weights_only=True`` by default and mmengine 0.10.7
calls ``torch.load`` without the argument, so ``--resume`` and ``load_from`` of mmengine's
own checkpoints fail with ``UnpicklingError: Weights only load failed``: the ``message_hub``
holds ``HistoryBuffer`` objects with numpy arrays, numpy scalars, and a dict of statistics
methods pickled as ``getattr(HistoryBuffer, 'mean')``. Instead of turning the check off, the
few types mmengine writes are allow-listed. ``getattr`` is the one general builtin among
them, so under its pickled name we allow a narrow stand-in that resolves only
``HistoryBuffer``'s registered statistics methods; everything else is still refused.

**Writing.** :class:`AtomicLocalBackend` is mmengine's local file backend with
temporary-file + fsync + ``os.replace`` writes, registered as mmengine file backend
``'local_atomic'``; ``CheckpointHook(backend_args=dict(backend='local_atomic'))`` uses it
(:func:`use_atomic_checkpoints` sets that), so a kill while saving never leaves a truncated
file under a checkpoint's name.

**Resuming.** :func:`check_resume_checkpoint` tries the checkpoint that ``--resume`` will
load before training starts and, if it does not load, names it and the newest one that does.
"""
from __future__ import annotations

import contextlib
import os
import os.path as osp
import re
import secrets
import zipfile
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend


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


# --------------------------------------------------------------------------------------
# Atomic checkpoint writes
# --------------------------------------------------------------------------------------

ATOMIC_BACKEND = 'local_atomic'


def atomic_write(data: bytes | str, path: str | os.PathLike, encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``path`` so that ``path`` is never seen half-written.

    The bytes go to a temporary file in the same folder (``.<name>.<pid>.<random>.tmp``), are
    flushed and fsynced, and the file is renamed over ``path`` with ``os.replace``, which
    is atomic within one file system; the folder is fsynced too, so the rename survives a
    power cut. A kill in the middle leaves the old ``path`` (or none) and at worst a
    ``.tmp`` file, which the next successful write of the same name does not touch.

    Args:
        data: the bytes (or text, written with ``encoding``).
        path: the destination file; its folder is created if missing.
        encoding: the encoding of text ``data``.
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode(encoding)
    # not tempfile.mkstemp: its files are private (0600); this one gets the umask's mode
    tmp = osp.join(folder, f'.{osp.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    with contextlib.suppress(OSError):  # not every OS / file system can fsync a folder
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, with :func:`atomic_write` for ``put``/``put_text``.

    Registered with mmengine's ``register_backend`` as ``'local_atomic'`` (no URI prefix,
    so it is used only where asked for). mmengine's checkpoint writing goes through a file
    backend chosen by ``backend_args`` (``CheckpointHook(backend_args=...)`` ->
    ``Runner.save_checkpoint`` -> ``mmengine.runner.save_checkpoint`` ->
    ``get_file_backend(filename, backend_args).put(bytes, filename)``), so::

        default_hooks = dict(checkpoint=dict(backend_args=dict(backend='local_atomic')))

    makes every checkpoint write atomic, without patching mmengine. See
    :func:`use_atomic_checkpoints`.
    """

    def put(self, obj: bytes, filepath: str | os.PathLike) -> None:
        """Write bytes to ``filepath`` atomically (see :func:`atomic_write`)."""
        atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath: str | os.PathLike, encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically (see :func:`atomic_write`)."""
        atomic_write(obj, filepath, encoding=encoding)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


def use_atomic_checkpoints(cfg) -> bool:
    """Make the config's ``CheckpointHook`` write its files atomically.

    Sets ``default_hooks.checkpoint.backend_args = dict(backend='local_atomic')`` when the
    checkpoints go to a local folder and the config chose no storage backend itself (a
    remote ``out_dir`` or explicit ``backend_args`` / ``file_client_args`` are left alone).

    Args:
        cfg: the mmengine config, changed in place.

    Returns:
        Whether the hook now writes atomically.
    """
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if not hook:
        return False
    args = hook.get('backend_args')
    if args is not None:
        return args.get('backend') == ATOMIC_BACKEND
    out_dir = hook.get('out_dir')
    if hook.get('file_client_args') is not None or (out_dir and '://' in str(out_dir)):
        return False
    hook['backend_args'] = dict(backend=ATOMIC_BACKEND)
    return True


# --------------------------------------------------------------------------------------
# Checking the checkpoint that --resume will load
# --------------------------------------------------------------------------------------


def checkpoint_problem(path: str) -> str | None:
    """Why the checkpoint file at ``path`` does not load; ``None`` if it loads.

    Loads it the way mmengine will (``torch.load`` with torch's ``weights_only`` default),
    memory-mapped when it is a zip archive (torch's format since 1.6), so the tensors are
    not read: the archive's directory and its pickled structure are checked, which is what
    a file cut short while being written breaks.

    Args:
        path: the checkpoint file.

    Returns:
        A short reason (``'file not found'``, ``'empty file'``, the loader's error), or
        ``None``.
    """
    if not osp.isfile(path):
        return 'file not found'
    if osp.getsize(path) == 0:
        return 'empty file (0 bytes)'
    is_zip = zipfile.is_zipfile(path)
    try:
        torch.load(path, map_location='cpu', mmap=is_zip)
    except Exception as err:  # noqa: BLE001  (any failure to load is the answer)
        first = str(err).strip().splitlines()[0] if str(err).strip() else ''
        first = first.split('. ')[0].rstrip('.')  # torch adds paragraphs of advice
        reason = f'{type(err).__name__}: {first}'.rstrip(': ')
        if not is_zip:
            reason += (f' (not a complete zip archive; {osp.getsize(path)} bytes: probably '
                       'cut short while being saved)')
        return reason
    return None


def _step_of(name: str) -> int:
    """The number in ``iter_12.pth`` / ``epoch_3.pth`` (-1 if none)."""
    match = re.search(r'(\d+)\D*$', name)
    return int(match.group(1)) if match else -1


def newest_good_checkpoint(folder: str, exclude: Sequence[str] = ()) -> str | None:
    """The newest checkpoint (``*.pth``) in ``folder`` that loads, or ``None``.

    "Newest" orders by the step in the name (``iter_N`` / ``epoch_N``), then by time.

    Args:
        folder: the work dir (or the checkpoint hook's ``out_dir``).
        exclude: paths not to consider (the bad checkpoint).
    """
    if not osp.isdir(folder):
        return None
    skip = {osp.abspath(p) for p in exclude}
    candidates = [osp.join(folder, n) for n in os.listdir(folder)
                  if n.endswith('.pth') and osp.abspath(osp.join(folder, n)) not in skip]
    candidates.sort(key=lambda p: (_step_of(osp.basename(p)), osp.getmtime(p)), reverse=True)
    for path in candidates:
        if checkpoint_problem(path) is None:
            return path
    return None


def check_resume_checkpoint(work_dir: str, resume_from: str | None = None) -> str | None:
    """Check, before training, the checkpoint that ``--resume`` will load.

    Args:
        work_dir: the run's work dir (where mmengine's ``last_checkpoint`` file is).
        resume_from: an explicit checkpoint (``--resume PATH``); ``None`` means the one
            that ``last_checkpoint`` names, as mmengine does with ``--resume`` alone.

    Returns:
        The checkpoint to resume from, or ``None`` when there is no ``last_checkpoint``
        (mmengine then trains from the start, and says so).

    Raises:
        FileNotFoundError: the explicit checkpoint does not exist.
        RuntimeError: the checkpoint does not load; the message names it, and the newest
            checkpoint in its folder that does load (to pass as ``--resume PATH``) or says
            there is none.
    """
    if resume_from is None:
        pointer = osp.join(work_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            return None
        with open(pointer) as f:
            path = f.read().strip()
        named_by = f' (named in {pointer})'
        if not path:
            path, named_by = pointer, ''
            problem = 'last_checkpoint is empty (cut short while being written?)'
        else:
            problem = checkpoint_problem(path)
    else:
        path, named_by = resume_from, ''
        if not osp.isfile(path):
            raise FileNotFoundError(f'--resume {path}: no such checkpoint file')
        problem = checkpoint_problem(path)
    if problem is None:
        return path
    folder = osp.dirname(path) or '.'
    if path == osp.join(work_dir, 'last_checkpoint') or not osp.isdir(folder):
        folder = work_dir
    good = newest_good_checkpoint(folder, exclude=[path])
    if good is None and osp.abspath(folder) != osp.abspath(work_dir):
        good = newest_good_checkpoint(work_dir, exclude=[path])
    advice = (f'The newest checkpoint that loads is {good}: resume from it with '
              f'--resume {good}' if good else
              f'No other checkpoint in {folder} loads: train from the start (without '
              '--resume), after moving the bad file away')
    raise RuntimeError(f'cannot resume from {path}{named_by}: {problem}. {advice}.')
