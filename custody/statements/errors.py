"""The one failure every statement parser reports."""


class StatementParseError(ValueError):
    """A statement file that cannot be read as holdings, with the line that shows why.

    Parsers raise nothing else for any input, so a caller importing custodian files
    needs exactly one ``except`` and can show the operator ``line N: what is wrong``.
    """

    def __init__(self, line: int, message: str) -> None:
        super().__init__(line, message)
        self.line = line
        self.message = message

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"
