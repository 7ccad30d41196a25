"""The model zoo: every model of ``model-index.yml`` and the method folders' metafiles.

    python -m mmgeneralist.zoo [--task depth] [--markdown]

lists each model's name, method, task, data set, config and weights (``-`` where none are
published by mmgeneralist); the numbers a paper reports are in the method's README, marked
as the paper's. Read with :func:`load_models`.
"""
from __future__ import annotations

import argparse
import os.path as osp
from collections.abc import Sequence

#: the repository root (model-index.yml, configs/)
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_models(root: str = ROOT) -> list[dict]:
    """The models of ``root/model-index.yml``, each a metafile entry plus ``'Method'``."""
    import yaml
    index_path = osp.join(root, 'model-index.yml')
    if not osp.isfile(index_path):
        raise FileNotFoundError(f'no model-index.yml in {root!r}: the model zoo is read from '
                                "a source checkout (pip install -e .)")
    with open(index_path) as f:
        index = yaml.safe_load(f)
    models = []
    for meta in index.get('Import', []):
        with open(osp.join(root, meta)) as f:
            data = yaml.safe_load(f)
        for model in data.get('Models', []):
            models.append(dict(model, Method=model.get('In Collection', '?'), Metafile=meta))
    return models


def _row(model: dict) -> list[str]:
    results = model.get('Results') or {}
    if isinstance(results, list):
        results = results[0] if results else {}
    return [model['Name'], model['Method'], str(results.get('Task', '-')),
            str(results.get('Dataset', '-')), model.get('Config', '-'),
            model.get('Weights') or '-']


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--task', help='only models whose task contains this (e.g. depth)')
    parser.add_argument('--markdown', action='store_true', help='a Markdown table')
    args = parser.parse_args(argv)
    rows = [_row(m) for m in load_models()]
    if args.task:
        rows = [r for r in rows if args.task.lower() in r[2].lower()]
    head = ['model', 'method', 'task', 'data set', 'config', 'weights']
    if args.markdown:
        print('| ' + ' | '.join(head) + ' |')
        print('|' + ' --- |' * len(head))
        for r in rows:
            print('| ' + ' | '.join(r) + ' |')
        return
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    for r in [head, *rows]:
        print('  '.join(x.ljust(w) for x, w in zip(r, widths)).rstrip())
    print(f'\n{len(rows)} models; results and the papers\' numbers: configs/<method>/README.md')


if __name__ == '__main__':
    main()
