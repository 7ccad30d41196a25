"""What every command-line tool shares: common arguments, thread count, error reporting.

``tools/train.py``, ``tools/test.py`` and ``tools/analysis_tools/*.py`` are thin::

    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_args(parser)
    args = parse_tool_args(parser, argv)
    with report_errors():
        cfg = load_tool_config(...)   # library code raises ordinary exceptions ...
        runner = Runner.from_cfg(cfg)
    runner.train()                    # ... and the tool turns them into one line

Library code raises ``FileNotFoundError`` / ``ValueError`` / ``RuntimeError`` with a message
that says what to do; :func:`report_errors` prints it as ``error: <message>`` on stderr and
exits with status 1, without a traceback. Wrap only the set-up (config, paths, building the
runner), so that a genuine failure during training keeps its traceback. Set
``MMGEN_TRACEBACK=1`` to see the traceback of a reported error too.

Threads: torch starts one intra-op thread per core in every process, so two processes on a
small machine oversubscribe it (training steps 20-30x slower on 2 cores). At start-up
:func:`configure_threads` divides the cores between the processes that torchrun started on
this machine (``LOCAL_WORLD_SIZE``); one process alone keeps torch's default.
``OMP_NUM_THREADS``, when set, always wins. (torchrun itself exports ``OMP_NUM_THREADS=1``
to the processes it starts when the variable is unset; a launcher script that wants the
cores divided exports ``OMP_NUM_THREADS=$(( $(nproc) / NPROC ))`` before calling it.)
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence

from mmengine.config import DictAction
from mmengine.logging import print_log

#: The exception types that :func:`report_errors` prints as one line.
USER_ERRORS: tuple[type[BaseException], ...] = (FileNotFoundError, NotADirectoryError,
                                                 ValueError, RuntimeError)

_threads_logged = False


def add_common_args(parser: argparse.ArgumentParser, *, work_dir: bool = True,
                    launcher: bool = True) -> None:
    """Add ``--cfg-options`` and, as asked, ``--work-dir`` and the launch arguments.

    Args:
        parser: the tool's parser; its positional arguments are its own.
        work_dir: add ``--work-dir`` (for tools that write logs or results).
        launcher: add ``--launcher`` and ``--local_rank`` (for tools that torchrun or
            slurm start, e.g. through ``tools/dist_train.sh``).
    """
    if work_dir:
        parser.add_argument('--work-dir', help='the folder for logs, checkpoints and results')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value format (e.g. '
        'train_dataloader.dataset.data_root=data/x)')
    if launcher:
        parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                            default='none', help='job launcher (dist_*.sh pass pytorch)')
        parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                            help='set by older torch.distributed.launch; torchrun sets '
                            'LOCAL_RANK instead')


def parse_tool_args(parser: argparse.ArgumentParser,
                    argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` and prepare the process: ``LOCAL_RANK`` and the thread count.

    Args:
        parser: a parser that :func:`add_common_args` has extended.
        argv: the arguments; ``None`` reads ``sys.argv``.

    Returns:
        The parsed arguments.
    """
    args = parser.parse_args(argv)
    if getattr(args, 'local_rank', None) is not None and 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    configure_threads()
    return args


def _num_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def choose_num_threads(environ: Mapping[str, str] | None = None,
                       num_cores: int | None = None) -> tuple[int | None, str]:
    """The intra-op thread count a tool process should use, and why.

    The rule: ``OMP_NUM_THREADS`` if set; else, when torchrun started several processes on
    this machine (``LOCAL_WORLD_SIZE`` > 1, or ``WORLD_SIZE`` > 1 without it), the cores
    divided between them (at least one each); else ``None``: keep torch's default (all
    cores).

    Args:
        environ: the environment to read; ``None`` reads ``os.environ``.
        num_cores: the cores available; ``None`` counts those this process may use.

    Returns:
        ``(threads or None, reason)``.
    """
    env = os.environ if environ is None else environ
    if env.get('OMP_NUM_THREADS'):
        try:
            threads = max(1, int(env['OMP_NUM_THREADS']))
            return threads, f'OMP_NUM_THREADS={env["OMP_NUM_THREADS"]}'
        except ValueError:
            raise ValueError(f'OMP_NUM_THREADS={env["OMP_NUM_THREADS"]!r} is not a whole '
                             'number; set it to the threads per process, e.g. 4') from None
    local = env.get('LOCAL_WORLD_SIZE') or env.get('WORLD_SIZE') or '1'
    local_processes = max(1, int(local))
    if local_processes == 1:
        return None, 'one process on this machine'
    cores = _num_cores() if num_cores is None else num_cores
    return (max(1, cores // local_processes),
            f'{cores} cores shared by {local_processes} processes on this machine')


def configure_threads() -> int:
    """Set torch's intra-op thread count by :func:`choose_num_threads`; rank 0 logs it once.

    When it divides the cores, it also exports ``OMP_NUM_THREADS`` so that data-loader
    workers and mmengine (which would set 1 for distributed runs) see the same number.

    Returns:
        The number of threads torch uses now.
    """
    global _threads_logged
    import torch
    threads, reason = choose_num_threads()
    if threads is not None and 'OMP_NUM_THREADS' not in os.environ:
        os.environ['OMP_NUM_THREADS'] = str(threads)
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if not _threads_logged and os.environ.get('RANK', '0') == '0':  # once per job
        _threads_logged = True
        hint = '' if 'OMP_NUM_THREADS' in reason else '; set OMP_NUM_THREADS to choose'
        n = torch.get_num_threads()
        print_log(f'torch uses {n} intra-op thread{"s" * (n != 1)} ({reason}{hint})',
                  logger='current')
    return torch.get_num_threads()


@contextlib.contextmanager
def report_errors(*types: type[BaseException]) -> Iterator[None]:
    """Turn the expected errors of a tool's set-up into ``error: ...`` and exit status 1.

    Args:
        types: the exception types to report; default :data:`USER_ERRORS` (a missing
            config, data root, weights folder or checkpoint, a bad option).

    Raises:
        SystemExit: with status 1, after printing the message on stderr.
    """
    caught = types or USER_ERRORS
    try:
        yield
    except caught as err:
        if os.environ.get('MMGEN_TRACEBACK'):
            raise
        message = str(err) or type(err).__name__
        if isinstance(err, (FileNotFoundError, NotADirectoryError)) and err.filename:
            message = f'{err.strerror or message}: {err.filename}'
        print(f'error: {message}', file=sys.stderr, flush=True)
        raise SystemExit(1) from None
