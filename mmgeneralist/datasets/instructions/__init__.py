"""InstructDiffusion's instruction triples: templates and the transforms that build them.

- :mod:`.templates`: the packaged instruction templates of each task
  (:func:`load_templates`, :func:`fill`, and :func:`parse_instruction` to read a filled one
  back);
- :mod:`.transforms`: :class:`KeypointInstruction`, :class:`SegmentationInstruction`,
  :class:`EnhancementInstruction` (source, instruction, target) and
  :class:`PackInstructionInputs`;
- :mod:`.exhaustive`: the test-time transforms that ask for every keypoint, class or
  sentence (:class:`AllKeypointsInstruction`, :class:`AllClassesInstruction`,
  :class:`AllSentencesInstruction`).
"""
from .exhaustive import AllClassesInstruction, AllKeypointsInstruction, AllSentencesInstruction
from .templates import (
                        TASK_PLACEHOLDERS,
                        TEMPLATE_DIR,
                        check_template,
                        fill,
                        load_templates,
                        parse_instruction,
)
from .transforms import (
                        EnhancementInstruction,
                        KeypointInstruction,
                        PackInstructionInputs,
                        SegmentationInstruction,
)

__all__ = [
    'TASK_PLACEHOLDERS', 'TEMPLATE_DIR', 'check_template', 'load_templates', 'fill',
    'parse_instruction', 'KeypointInstruction', 'SegmentationInstruction',
    'EnhancementInstruction', 'PackInstructionInputs', 'AllKeypointsInstruction',
    'AllClassesInstruction', 'AllSentencesInstruction'
]
