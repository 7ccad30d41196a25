from .instruction_editor import InstructionEditor

__all__ = ['InstructionEditor']
