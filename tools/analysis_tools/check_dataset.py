"""Check a config's data before training: every file decodes, sizes match, labels in range.

    python tools/analysis_tools/check_dataset.py CONFIG [--cfg-options k=v ...]

Prints the samples per split and each bad file with the reason, and exits with status 1 if
anything is bad. Checks mmseg's segmentation and depth datasets (ADE20K- and NYU-format
configs among them); other dataset types are listed as not checked. What is checked:
:mod:`mmgeneralist.utils.dataset_check`.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mmgeneralist.utils.cli import add_common_args, parse_tool_args, report_errors
from mmgeneralist.utils.dataset_check import check_config_data, format_report
from mmgeneralist.utils.launch import load_tool_config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    add_common_args(parser, work_dir=False, launcher=False)
    args = parse_tool_args(parser, argv)
    with report_errors():
        cfg = load_tool_config(args.config, args.cfg_options, 'none', work_dir=None)
        reports = check_config_data(cfg)
    print(format_report(reports))
    return 1 if any(r.bad for r in reports) else 0


if __name__ == '__main__':
    sys.exit(main())
