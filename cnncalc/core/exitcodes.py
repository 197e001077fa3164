"""The exit codes of every command (one home; imported by the CLI, check and the errors).

0: everything holds; 1: a figure, expectation, budget or answer is wrong; 2: the input is
invalid or unreadable (every CnnCalcError).
"""

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
