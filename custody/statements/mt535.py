"""SWIFT MT535 Statement of Holdings (ISO 15022): the part a custody reconciliation needs.

Layout read (SWIFT User Handbook, MT535 format specifications), with what we do with it:

    {1:...}{2:O535...}{4:          optional FIN envelope; block 2, when present, must say 535
    :16R:GENL                      Sequence A, General Information
    :28E:1/ONLY                    pagination: MORE/LAST pages are refused (combine them first)
    :23G:NEWM                      CANC is refused: it withdraws a statement
    :98A::STAT//20251124           statement date; or :98C::STAT//20251124173000 (local time);
                                   or 98E ...//20251124173000,123/N05 (time with UTC offset)
    :22F::CODE//COMP               DELT (changes only) is refused: we need full holdings
    :97A::SAFE//ACCOUNT            safekeeping account (97B ::SAFE//TYPE/ACCOUNT is read too)
    :16S:GENL
    :16R:SUBSAFE                   Sequence B, repeatable; a 97a here must repeat the same account
    :16R:FIN                       Subsequence B1, one per security
    :35B:ISIN US0378331005         ISIN, or /US/ + CUSIP (converted to the US ISIN);
    APPLE INC                      then up to 4 description lines
    :93B::AGGR//UNIT/1500,         aggregate balance; N before the number = short position
    :93B::AVAI//UNIT/1200,         available balance
    :16R:SUBBAL                    Subsequence B1b, one per sub-balance
    :93C::BLOK//UNIT/NAVL/200,     blocked (93B ::BLOK//UNIT/200, is read too)
    :16S:SUBBAL                    (a PEND sub-balance, pending delivery, is read the same way)
    :16S:FIN
    :16S:SUBSAFE
    -}                             end of block 4 (a message without envelope may end "-" or "-}")

Balances are 93B ``:4!c/[8c]/4!c/[N]15d``: qualifier, optional data source scheme (must be
empty), quantity type (must be UNIT: face amounts are bonds, which we do not hold), sign,
and a number with a mandatory decimal comma ("1500," or "12,5"), 15 characters at most.
Some custodians put BLOK/PEND straight into FIN as 93B; that is accepted too. Fields not
listed are skipped, except that an AGGR/AVAI/BLOK/PEND balance in another 93a option (93F,
digital token units) is refused rather than silently left out.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from custody.identifiers import InvalidIdentifier, cusip_to_us_isin
from custody.statements.errors import StatementParseError
from custody.statements.fields import decode_text, isin_on_line, split_lines
from custody.statements.model import Holding, Statement, StatementFormat

_FIELD_START = re.compile(r":(\d{2}[A-Z]?):(.*)")
_QUALIFIED_VALUE = re.compile(r":([A-Z0-9]{4})/([A-Z0-9]{0,8})/(.*)")
_BLOCK_NAME = re.compile(r"[A-Z0-9]{1,16}")
_SWIFT_QUANTITY = re.compile(r"(N?)(\d+),(\d*)")
_STATEMENT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_STATEMENT_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})")
_STATEMENT_DATE_TIME_UTC = re.compile(
    r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:,(\d{1,3}))?(?:/(N?)(\d{2})(\d{2})?)?"
)
_PAGINATION = re.compile(r"(\d{1,5})/(ONLY|MORE|LAST)")
_MESSAGE_TYPE = re.compile(r"\{2:[IO](\d{3})")
_ISIN_LINE = re.compile(r"ISIN +(\S+)")
_US_CUSIP_LINE = re.compile(r"/US/(\S+)")

# Fields we interpret that are one line long; text continuing them is a damaged file.
_ONE_LINE_TAGS = {"16R", "16S", "22F", "23G", "28E", "93B", "93C", "97A", "97B", "98A", "98B", "98C", "98E"}
# Where each block we interpret may sit (None = top level). Other blocks may sit anywhere
# below the top level and their fields are skipped.
_PARENT_BLOCK = {"GENL": None, "SUBSAFE": None, "ADDINFO": None, "LINK": "GENL", "FIN": "SUBSAFE", "SUBBAL": "FIN"}
_SUB_BALANCES = {"BLOK", "PEND"}
_SECURITY_BALANCES = {"AGGR", "AVAI"} | _SUB_BALANCES


@dataclass
class _Field:
    line: int
    tag: str
    lines: list[str]  # the text after ":TAG:", then any continuation lines
    continuation_line_numbers: list[int] = field(default_factory=list)

    @property
    def value(self) -> str:
        return self.lines[0]


@dataclass
class _MessageBody:
    lines: list[tuple[int, str]]
    end_line: int
    unterminated: bool  # the FIN envelope never reached "-}"


@dataclass
class _Security:
    opened_line: int
    isin: str | None = None
    description: str = ""
    balances: dict[str, tuple[Decimal, int]] = field(default_factory=dict)


def parse_mt535(data: bytes) -> Statement:
    """Read an MT535 (raw block-4 text or a full FIN message) into a Statement."""
    lines = split_lines(decode_text(data))
    body = _message_body(lines)
    reader = _StatementReader(body.end_line)
    for message_field in _fields(body.lines):
        reader.read(message_field)
    reader.finish()
    if body.unterminated:
        raise StatementParseError(body.end_line, "message text block {4: is not closed by '-}' (file truncated?)")
    return reader.statement(hashlib.sha256(data).hexdigest())


def _message_body(lines: list[str]) -> _MessageBody:
    """The numbered block-4 lines, with blank lines dropped."""
    numbered = [(number, text.rstrip()) for number, text in enumerate(lines, start=1) if text.strip()]
    if not numbered:
        raise StatementParseError(1, "empty file")
    if numbered[0][1].lstrip().startswith("{"):
        return _envelope_body(numbered)
    for index, (number, text) in enumerate(numbered):
        if text in ("-", "-}"):
            if index + 1 < len(numbered):
                raise StatementParseError(numbered[index + 1][0], "text after the end-of-message '-'")
            return _MessageBody(numbered[:index], number, unterminated=False)
    return _MessageBody(numbered, numbered[-1][0], unterminated=False)


def _envelope_body(numbered: list[tuple[int, str]]) -> _MessageBody:
    """Block 4 of a FIN message ``{1:...}{2:...}{4:`` ... ``-}{5:...}``."""
    for start_index, (start_line, text) in enumerate(numbered):
        block_start = text.find("{4:")
        if block_start != -1:
            break
    else:
        raise StatementParseError(numbered[-1][0], "FIN message has no text block '{4:'")
    headers = "".join(text for _, text in numbered[:start_index]) + text[:block_start]
    message_type = _MESSAGE_TYPE.search(headers)
    if message_type and message_type.group(1) != "535":
        raise StatementParseError(
            start_line, f"message type MT{message_type.group(1)} is not an MT535 statement of holdings"
        )
    body = [(start_line, text[block_start + 3:])] if text[block_start + 3:].strip() else []
    for index in range(start_index + 1, len(numbered)):
        number, text = numbered[index]
        if text.startswith("-}"):
            _check_trailer(numbered[index:], text[2:])
            return _MessageBody(body, number, unterminated=False)
        body.append((number, text))
    return _MessageBody(body, numbered[-1][0], unterminated=True)


def _check_trailer(trailer_lines: list[tuple[int, str]], rest_of_end_line: str) -> None:
    """After "-}" only trailer blocks ({5:...}, {S:...}) may follow, and no second message."""
    for number, text in [(trailer_lines[0][0], rest_of_end_line), *trailer_lines[1:]]:
        if "{1:" in text:
            raise StatementParseError(number, "a second message follows; send one statement per file")
        if text.strip() and not text.lstrip().startswith("{"):
            raise StatementParseError(number, "unexpected text after the end of the message")


def _fields(body: list[tuple[int, str]]) -> list[_Field]:
    """Split block-4 lines into fields: a field starts with ":TAG:", other lines continue it."""
    fields: list[_Field] = []
    for number, text in body:
        if text.startswith(":"):
            start = _FIELD_START.fullmatch(text)
            if not start:
                raise StatementParseError(number, f"malformed field tag in {text[:20]!r}: expected e.g. :35B:")
            fields.append(_Field(number, start.group(1), [start.group(2)]))
        elif text.startswith(("-", "{")):
            raise StatementParseError(number, f"unexpected {text[:12]!r} inside the message text")
        elif not fields:
            raise StatementParseError(number, "expected a field such as :16R:GENL")
        else:
            fields[-1].lines.append(text)
            fields[-1].continuation_line_numbers.append(number)
    return fields


def _qualified(message_field: _Field) -> tuple[str, str, str]:
    """(qualifier, data source scheme, rest) of a generic field such as :93B::AGGR//UNIT/5,."""
    match = _QUALIFIED_VALUE.fullmatch(message_field.value)
    if not match:
        raise StatementParseError(
            message_field.line,
            f":{message_field.tag}: value {message_field.value[:40]!r} is not of the form :QUAL//value",
        )
    return match.group(1), match.group(2), match.group(3)


def _swift_quantity(text: str, line: int, qualifier: str) -> Decimal:
    """A ``[N]15d`` number: digits, mandatory decimal comma, N prefix when negative."""
    match = _SWIFT_QUANTITY.fullmatch(text)
    if not match or len(text) - len(match.group(1)) > 15:
        raise StatementParseError(
            line,
            f"{qualifier} balance {text[:40]!r} is not a SWIFT quantity such as 1500, or 12,5 "
            "(decimal comma, at most 15 characters)",
        )
    quantity = Decimal(f"{match.group(2)}.{match.group(3)}")
    if match.group(1):
        if quantity == 0:
            raise StatementParseError(line, f"{qualifier} balance is zero but carries the negative sign N")
        quantity = -quantity
    return quantity


def _statement_time(message_field: _Field, text: str) -> tuple[date, datetime | None]:
    """The statement date, and time if given, of a 98A, 98C or 98E field."""
    patterns = {"98A": _STATEMENT_DATE, "98C": _STATEMENT_DATE_TIME, "98E": _STATEMENT_DATE_TIME_UTC}
    match = patterns[message_field.tag].fullmatch(text)
    if not match:
        raise StatementParseError(
            message_field.line, f"statement date {text[:30]!r} does not match the :{message_field.tag}: layout"
        )
    parts = match.groups()
    try:
        statement_date = date(int(parts[0]), int(parts[1]), int(parts[2]))
        if message_field.tag == "98A":
            return statement_date, None
        milliseconds = int((parts[6] or "0").ljust(3, "0")) if message_field.tag == "98E" else 0
        offset = None
        if message_field.tag == "98E" and parts[8] is not None:
            offset_size = timedelta(hours=int(parts[8]), minutes=int(parts[9] or "0"))
            offset = timezone(-offset_size if parts[7] else offset_size)
        as_of = datetime(int(parts[0]), int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4]),
                         int(parts[5]), milliseconds * 1000, tzinfo=offset)
    except ValueError:
        raise StatementParseError(message_field.line, f"statement date {text!r} is not a real date and time") from None
    return statement_date, as_of


class _StatementReader:
    """Walks the fields once, checking block structure and collecting the statement."""

    def __init__(self, end_line: int) -> None:
        self.end_line = end_line
        self.open_blocks: list[tuple[str, int]] = []
        self.general_seen = False
        self.account_ref: str | None = None
        self.statement_date: date | None = None
        self.statement_date_line = 0
        self.as_of: datetime | None = None
        self.security: _Security | None = None
        self.holdings: list[Holding] = []
        self.isin_lines: dict[str, int] = {}
        self.readers_by_block = {"GENL": self._general_field, "SUBSAFE": self._subsafe_field,
                                 "FIN": self._security_field, "SUBBAL": self._sub_balance_field}

    def read(self, message_field: _Field) -> None:
        if message_field.tag in _ONE_LINE_TAGS and message_field.continuation_line_numbers:
            raise StatementParseError(
                message_field.continuation_line_numbers[0],
                f"text continues the one-line field :{message_field.tag}: from line {message_field.line}",
            )
        if not self.general_seen and (message_field.tag, message_field.value) != ("16R", "GENL"):
            raise StatementParseError(message_field.line, "an MT535 must start with :16R:GENL")
        if message_field.tag == "16R":
            self._open_block(message_field)
        elif message_field.tag == "16S":
            self._close_block(message_field)
        elif not self.open_blocks:
            raise StatementParseError(message_field.line, f"field :{message_field.tag}: is outside any :16R: block")
        else:
            reader = self.readers_by_block.get(self.open_blocks[-1][0])
            if reader:
                reader(message_field)

    def finish(self) -> None:
        if self.open_blocks:
            name, opened_line = self.open_blocks[-1]
            raise StatementParseError(
                self.end_line,
                f"file ends inside the {name} block opened on line {opened_line} (missing :16S:{name}); truncated?",
            )
        if not self.general_seen:
            raise StatementParseError(self.end_line, "no MT535 fields found (expected :16R:GENL)")

    def statement(self, source_sha256: str) -> Statement:
        assert self.account_ref is not None and self.statement_date is not None  # checked when GENL closed
        return Statement(StatementFormat.MT535, self.account_ref, self.statement_date, self.as_of,
                         tuple(self.holdings), source_sha256)

    def _open_block(self, message_field: _Field) -> None:
        name = message_field.value.strip()
        if not _BLOCK_NAME.fullmatch(name):
            raise StatementParseError(message_field.line, f"block name {name[:20]!r} is not valid")
        parent = self.open_blocks[-1][0] if self.open_blocks else None
        if name in _PARENT_BLOCK and _PARENT_BLOCK[name] != parent:
            where = f"inside {parent}" if parent else "at the top level"
            raise StatementParseError(message_field.line, f"block {name} cannot start {where}")
        if name not in _PARENT_BLOCK and parent is None:
            raise StatementParseError(message_field.line, f"block {name} cannot start at the top level")
        if name == "GENL":
            if self.general_seen:
                raise StatementParseError(message_field.line, "a second GENL block")
            self.general_seen = True
        if name == "FIN":
            self.security = _Security(message_field.line)
        self.open_blocks.append((name, message_field.line))

    def _close_block(self, message_field: _Field) -> None:
        name = message_field.value.strip()
        if not self.open_blocks:
            raise StatementParseError(message_field.line, f":16S:{name[:20]} closes a block that was never opened")
        open_name, opened_line = self.open_blocks[-1]
        if name != open_name:
            raise StatementParseError(
                message_field.line,
                f":16S:{name[:20]} does not close the open {open_name} block (opened on line {opened_line})",
            )
        self.open_blocks.pop()
        if name == "GENL":
            self._check_general(message_field.line)
        elif name == "FIN":
            self._finish_security(message_field.line)

    def _check_general(self, line: int) -> None:
        if self.account_ref is None:
            raise StatementParseError(line, "statement has no safekeeping account (:97A::SAFE//)")
        if self.statement_date is None:
            raise StatementParseError(line, "statement has no statement date (:98A::STAT// or :98C::STAT//)")

    def _general_field(self, message_field: _Field) -> None:
        tag = message_field.tag
        if tag == "23G" and message_field.value.startswith("CANC"):
            raise StatementParseError(message_field.line, "23G CANC cancels an earlier statement; it holds no holdings")
        elif tag == "28E":
            self._check_single_page(message_field)
        elif tag in ("22F", "97A", "97B", "98A", "98B", "98C", "98E"):
            qualifier, data_source_scheme, rest = _qualified(message_field)
            if tag == "22F" and qualifier == "CODE" and not data_source_scheme and rest == "DELT":
                raise StatementParseError(
                    message_field.line, "22F CODE//DELT: a delta statement lists changes only, not full holdings"
                )
            if tag.startswith("97") and qualifier == "SAFE":
                if self.account_ref is not None:
                    raise StatementParseError(message_field.line, "a second safekeeping account in GENL")
                self.account_ref = self._account(message_field, data_source_scheme, rest)
            if tag.startswith("98") and qualifier == "STAT":
                self._read_statement_date(message_field, data_source_scheme, rest)

    def _check_single_page(self, message_field: _Field) -> None:
        pagination = _PAGINATION.fullmatch(message_field.value.strip())
        if not pagination:
            raise StatementParseError(
                message_field.line, f"28E {message_field.value[:20]!r} is not NNNNN/ONLY|MORE|LAST"
            )
        if pagination.group(2) != "ONLY":
            raise StatementParseError(
                message_field.line,
                f"page {int(pagination.group(1))} ({pagination.group(2)}) of a multi-page statement; "
                "combine the pages into one statement before import",
            )

    def _read_statement_date(self, message_field: _Field, data_source_scheme: str, rest: str) -> None:
        if self.statement_date is not None:
            raise StatementParseError(
                message_field.line, f"a second statement date (the first is on line {self.statement_date_line})"
            )
        if message_field.tag == "98B" or data_source_scheme:
            raise StatementParseError(message_field.line, "statement date is given as a code, not as a date")
        self.statement_date, self.as_of = _statement_time(message_field, rest)
        self.statement_date_line = message_field.line

    def _account(self, message_field: _Field, data_source_scheme: str, rest: str) -> str:
        """Account number of 97A ``:SAFE//35x`` or 97B ``:SAFE/[8c]/4!c/35x``."""
        if message_field.tag == "97B":
            account_type, _, rest = rest.partition("/")
            if not re.fullmatch(r"[A-Z0-9]{4}", account_type):
                raise StatementParseError(message_field.line, "97B account must be :SAFE//TYPE/ACCOUNT")
        elif data_source_scheme:
            raise StatementParseError(message_field.line, "97A account must be :SAFE//ACCOUNT")
        account = rest.strip()
        if not 1 <= len(account) <= 35:
            raise StatementParseError(message_field.line, "safekeeping account must be 1 to 35 characters")
        return account

    def _subsafe_field(self, message_field: _Field) -> None:
        if message_field.tag in ("97A", "97B"):
            qualifier, data_source_scheme, rest = _qualified(message_field)
            if qualifier == "SAFE" and self._account(message_field, data_source_scheme, rest) != self.account_ref:
                raise StatementParseError(
                    message_field.line,
                    f"sub-safekeeping account differs from statement account {self.account_ref}; "
                    "consolidated statements are not supported",
                )

    def _security_field(self, message_field: _Field) -> None:
        if message_field.tag == "35B":
            self._read_identification(message_field)
        elif message_field.tag.startswith("93"):
            qualifier, _, _ = _qualified(message_field)
            if qualifier in _SECURITY_BALANCES:
                self._read_balance(message_field)

    def _sub_balance_field(self, message_field: _Field) -> None:
        if message_field.tag.startswith("93"):
            qualifier, _, _ = _qualified(message_field)
            if qualifier in _SUB_BALANCES:
                self._read_balance(message_field)

    def _read_identification(self, message_field: _Field) -> None:
        assert self.security is not None  # FIN is open
        if self.security.isin is not None:
            raise StatementParseError(message_field.line, "a second :35B: in one security")
        first_line = message_field.value.strip()
        isin_form = _ISIN_LINE.fullmatch(first_line)
        cusip_form = _US_CUSIP_LINE.fullmatch(first_line)
        if isin_form:
            isin = isin_on_line(isin_form.group(1), message_field.line)
        elif cusip_form:
            try:
                isin = cusip_to_us_isin(cusip_form.group(1))
            except InvalidIdentifier as error:
                raise StatementParseError(message_field.line, str(error)) from None
        else:
            raise StatementParseError(
                message_field.line, f"35B {first_line[:30]!r} has no ISIN (expected 'ISIN ...' or '/US/' + CUSIP)"
            )
        if isin in self.isin_lines:
            raise StatementParseError(
                message_field.line,
                f"ISIN {isin} appears twice in this statement (first on line {self.isin_lines[isin]})",
            )
        self.isin_lines[isin] = message_field.line
        self.security.isin = isin
        self.security.description = " ".join(line.strip() for line in message_field.lines[1:])

    def _read_balance(self, message_field: _Field) -> None:
        """93B ``:QUAL//UNIT/[N]qty`` or, in SUBBAL, 93C ``:QUAL//UNIT/AVAI|NAVL/[N]qty``."""
        assert self.security is not None  # FIN is open
        qualifier, data_source_scheme, rest = _qualified(message_field)
        layouts = {"93B": r"([A-Z0-9]{4})/(.*)", "93C": r"([A-Z0-9]{4})/[A-Z0-9]{4}/(.*)"}
        layout = layouts.get(message_field.tag)
        match = re.fullmatch(layout, rest) if layout else None
        if data_source_scheme or not match or match.group(1) != "UNIT":
            raise StatementParseError(
                message_field.line,
                f":{message_field.tag}: {qualifier} balance must be in units, like :93B::{qualifier}//UNIT/1500,",
            )
        quantity = _swift_quantity(match.group(2), message_field.line, qualifier)
        if quantity < 0 and qualifier != "AGGR":
            raise StatementParseError(
                message_field.line, f"negative {qualifier} balance: only the aggregate balance may be short"
            )
        if qualifier in self.security.balances:
            first_line = self.security.balances[qualifier][1]
            raise StatementParseError(
                message_field.line, f"a second {qualifier} balance for this security (first on line {first_line})"
            )
        self.security.balances[qualifier] = (quantity, message_field.line)

    def _finish_security(self, line: int) -> None:
        security = self.security
        assert security is not None  # FIN was open
        if security.isin is None:
            raise StatementParseError(
                line, f"security opened on line {security.opened_line} has no :35B: identification"
            )
        if "AGGR" not in security.balances:
            raise StatementParseError(line, f"security {security.isin} has no aggregate balance (:93B::AGGR//)")
        quantities = {qualifier: quantity for qualifier, (quantity, _) in security.balances.items()}
        self.holdings.append(Holding(
            isin=security.isin,
            description=security.description,
            aggregate=quantities["AGGR"],
            available=quantities.get("AVAI"),
            blocked=quantities.get("BLOK"),
            pending=quantities.get("PEND"),
        ))
        self.security = None
