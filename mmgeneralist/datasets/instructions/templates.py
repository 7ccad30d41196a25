"""Instruction templates of InstructDiffusion's tasks (Geng et al., Sec. 3.1 and 4.1).

Each task has a plain-text file ``templates/<task>.txt`` next to this module: one template
per line, with ``str.format`` placeholders. Every template of a task must use exactly the
task's placeholders (:data:`TASK_PLACEHOLDERS`):

==========================  ============================  ===================================
task                        placeholders                  example
==========================  ============================  ===================================
``keypoint``                ``{color}``, ``{part}``,      "Please use {color} to encircle the
                            ``{object}``                  {part} of the {object}."
``segmentation``            ``{color}``, ``{object}``     "Apply a {color} semi-transparent
                                                          mask to the {object} ..." (class
                                                          name)
``referring``               ``{color}``, ``{object}``     "Place a {color} mask on {object}."
                                                          (the referring sentence, no article
                                                          added)
``enhancement_denoise``     none                          "Please remove the noise from the
                                                          image."
``enhancement_deblur``      none                          "Make the image much sharper."
``enhancement_lowlight``    none                          "Make the image brighter."
``editing``                 ``{object}``                  "Remove the {object} from the
                                                          image." (object removal, as the
                                                          paper builds it from referring
                                                          masks)
==========================  ============================  ===================================

A line may not be blank (an empty instruction is refused) and literal braces are written
``{{`` and ``}}``. The files are package data (``setup.py``'s ``package_data``).
"""
from __future__ import annotations

import functools
import os.path as osp
import re
import string

__all__ = ['TASK_PLACEHOLDERS', 'TEMPLATE_DIR', 'check_template', 'load_templates', 'fill',
           'parse_instruction', 'template_fields']

#: The folder of the packaged template files.
TEMPLATE_DIR: str = osp.join(osp.dirname(osp.abspath(__file__)), 'templates')

#: Each task and the placeholders every one of its templates must use (no more, no fewer).
TASK_PLACEHOLDERS: dict[str, frozenset[str]] = {
    'keypoint': frozenset({'color', 'part', 'object'}),
    'segmentation': frozenset({'color', 'object'}),
    'referring': frozenset({'color', 'object'}),
    'enhancement_denoise': frozenset(),
    'enhancement_deblur': frozenset(),
    'enhancement_lowlight': frozenset(),
    'editing': frozenset({'object'}),
}


#: "a" right before a placeholder, becoming "an" before a value that starts with a vowel.
_ARTICLE = re.compile(r'(?:(?<=\s)|^)[Aa] $')


def _describe(fields) -> str:
    return ', '.join('{' + f + '}' for f in sorted(fields)) or 'none'


def template_fields(template: str) -> frozenset[str]:
    """The placeholder names of ``template`` (``'{color} and {part}'`` -> color, part).

    Raises:
        ValueError: the template is not a valid ``str.format`` string (an unmatched brace),
            or a placeholder is positional (``{}``, ``{0}``), has an attribute or index
            (``{a.b}``, ``{a[0]}``), a conversion (``{a!r}``) or a format spec (``{a:>5}``).
    """
    fields = set()
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            shown = name + (f'!{conversion}' if conversion else '') + (f':{spec}' if spec
                                                                       else '')
            raise ValueError(f'placeholder {{{shown}}} is not a plain name such as {{color}}')
        fields.add(name)
    return frozenset(fields)


def check_template(template: str, task: str) -> None:
    """Raise ValueError when ``template`` is blank or its placeholders differ from ``task``'s.

    Args:
        template: a template string.
        task: one of :data:`TASK_PLACEHOLDERS`.
    """
    if task not in TASK_PLACEHOLDERS:
        raise ValueError(f'unknown instruction task {task!r}; known tasks: '
                         f'{", ".join(TASK_PLACEHOLDERS)}')
    if not isinstance(template, str) or not template.strip():
        raise ValueError(f'an instruction template must be a non-empty string; got '
                         f'{template!r}')
    fields = template_fields(template)
    expected = TASK_PLACEHOLDERS[task]
    if fields != expected:
        problems = []
        if expected - fields:
            problems.append(f'missing {_describe(expected - fields)}')
        if fields - expected:
            problems.append(f'unexpected {_describe(fields - expected)}')
        raise ValueError(f'{"; ".join(problems)} (a {task} template uses exactly '
                         f'{_describe(expected)}): {template!r}')


@functools.cache
def _load(task: str, directory: str) -> tuple[str, ...]:
    path = osp.join(directory, f'{task}.txt')
    if not osp.isfile(path):
        raise FileNotFoundError(f'the templates of task {task!r} are missing: {path} does not '
                                'exist (is the package data installed?)')
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    templates = []
    for number, line in enumerate(lines, start=1):
        try:
            check_template(line, task)
        except ValueError as err:
            raise ValueError(f'{path}, line {number}: {err}') from None
        templates.append(line.strip())
    if not templates:
        raise ValueError(f'{path} holds no template (one per line)')
    return tuple(templates)


def load_templates(task: str, directory: str | None = None) -> tuple[str, ...]:
    """The templates of ``task``, one per line of ``<directory>/<task>.txt`` (cached).

    Args:
        task: one of :data:`TASK_PLACEHOLDERS` (``'keypoint'``, ``'segmentation'`` ...).
        directory: folder of the template files; ``None``: the packaged
            :data:`TEMPLATE_DIR`.

    Returns:
        The templates, stripped, in file order.

    Raises:
        ValueError: ``task`` is unknown (the known tasks are listed); a line of the file is
            blank or its placeholders differ from the task's (the file and line are named);
            the file is empty.
        FileNotFoundError: the task's file is missing.
    """
    if task not in TASK_PLACEHOLDERS:
        raise ValueError(f'unknown instruction task {task!r}; known tasks: '
                         f'{", ".join(TASK_PLACEHOLDERS)}')
    return _load(task, osp.abspath(directory or TEMPLATE_DIR))


def fill(template: str, **values) -> str:
    """Fill ``template``'s placeholders from ``values`` (values it does not use are ignored).

    Example:
        >>> fill('Please use {color} to encircle the {part} of the {object}.',
        ...      color='red', part='left shoulder', object='man')
        'Please use red to encircle the left shoulder of the man.'

    An "a" right before a placeholder becomes "an" when the value starts with a vowel
    ("Draw a {color} circle" with orange: "Draw an orange circle"); runs of blanks in the
    values are collapsed.

    Raises:
        ValueError: a placeholder has no value or an empty one, or the result is empty.
    """
    if not isinstance(template, str) or not template.strip():
        raise ValueError(f'an instruction template must be a non-empty string; got '
                         f'{template!r}')
    fields = template_fields(template)
    missing = sorted(f for f in fields if f not in values)
    if missing:
        raise ValueError(f'no value for {_describe(missing)} in template {template!r} '
                         f'(given: {", ".join(sorted(values)) or "none"})')
    empty = sorted(f for f in fields if not str(values[f]).strip())
    if empty:
        raise ValueError(f'empty value for {_describe(empty)} in template {template!r}')
    filled = {f: ' '.join(str(values[f]).split()) for f in fields}
    pieces = []
    for literal, name, _, _ in string.Formatter().parse(template):
        # literal text is unescaped by parse ('{{' -> '{'), so pieces join to the result
        if name is not None and _ARTICLE.search(literal) and filled[name][:1].lower() in 'aeiou':
            literal = _ARTICLE.sub(lambda m: m.group(0)[0] + 'n ', literal)  # a orange -> an
        pieces.append(literal + (filled[name] if name is not None else ''))
    text = ''.join(pieces).strip()
    if not text:
        raise ValueError(f'template {template!r} gives an empty instruction')
    return text


#: the tasks whose edits are read back by a colour decoder, in the order they are tried
DECODED_TASKS = ('keypoint', 'segmentation', 'referring')
#: one sentence of a joined instruction (the keypoint transform joins one per keypoint)
_SENTENCE = re.compile(r'(?<=[.!?])\s+')


@functools.cache
def _template_patterns(directory: str, colors: tuple[str, ...] | None
                       ) -> tuple[tuple[str, re.Pattern], ...]:
    """Each template of :data:`DECODED_TASKS` as a regular expression with one named group
    per placeholder (an "a" before a placeholder also matches "an"). ``{color}`` matches
    one of ``colors`` (so that "... of the man in the red coat in orange." splits at the
    colour), or any text when ``colors`` is None."""
    color = '|'.join(map(re.escape, colors)) if colors else '.+?'
    patterns = []
    for task in DECODED_TASKS:
        for template in _load(task, directory):
            regex = ''
            for literal, name, _, _ in string.Formatter().parse(template):
                if name is not None and _ARTICLE.search(literal):
                    regex += re.escape(literal[:-2]) + literal[-2] + 'n? '
                else:
                    regex += re.escape(literal)
                if name is not None:
                    regex += f'(?P<{name}>{color if name == "color" else ".+?"})'
            patterns.append((task, re.compile(regex, re.IGNORECASE)))
    return tuple(patterns)


def parse_instruction(text: str, directory: str | None = None) -> list[dict[str, str]]:
    """What a filled keypoint, segmentation or referring template asks for.

    The inverse of :func:`fill` for the tasks whose edits a colour decoder reads back: each
    sentence of ``text`` that matches one of their templates gives a dict of ``task`` and the
    placeholders' values (``color``, ``object`` and, for keypoints, ``part``). Sentences
    that match no template (a free-form edit, "Make the image brighter.") give nothing.

    Example:
        >>> parse_instruction('Put a red circle on the nose of the man. '
        ...                   'Use blue to circle the left eye of the man.')
        [{'task': 'keypoint', 'color': 'red', 'part': 'nose', 'object': 'man'},
         {'task': 'keypoint', 'color': 'blue', 'part': 'left eye', 'object': 'man'}]

    Raises:
        ValueError: a matched sentence names a colour outside the palette (the message
            lists the known colours).
    """
    from ...codecs.palette import PALETTE
    directory = osp.abspath(directory or TEMPLATE_DIR)
    known, loose = (_template_patterns(directory, tuple(PALETTE)),
                    _template_patterns(directory, None))
    found = []
    for sentence in _SENTENCE.split(' '.join(str(text).split())):
        match = next(((task, m) for task, p in known if (m := p.fullmatch(sentence))), None)
        if match is None:
            other = next((m for _, p in loose if (m := p.fullmatch(sentence))), None)
            if other is not None:  # a template's form, with a colour the decoders lack
                raise ValueError(f'"{sentence}" asks for the colour {other["color"]!r}, which '
                                 f'is not in the palette: use one of {", ".join(PALETTE)}')
            continue
        task, m = match
        values = {k: v.strip() for k, v in m.groupdict().items()}
        values['color'] = values['color'].lower()
        found.append(dict(task=task, **values))
    return found
