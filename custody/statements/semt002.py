"""ISO 20022 semt.002 Securities Balance Custody Report: the subset a reconciliation needs.

Element paths read (written against semt.002.001.12; V10 and V11 use the same paths), all
in the message's own namespace ``urn:iso:std:iso:20022:tech:xsd:semt.002.001.NN``:

    Document/SctiesBalCtdyRpt              (Document may sit inside an envelope, e.g. with AppHdr)
      Pgntn/PgNb, Pgntn/LastPgInd          anything but page 1 of 1 is refused (combine pages first)
      StmtGnlDtls/StmtDtTm/Dt | DtTm       statement date, or date and time
      StmtGnlDtls/UpdTp/Cd                 DELT (changes only) is refused
      SfkpgAcct/Id                         custody account
      SubAcctDtls                          refused: sub-account statements are not supported
      BalForAcct (one per security)
        FinInstrmId/ISIN, FinInstrmId/Desc
        AggtBal/ShrtLngInd                 SHOR makes the aggregate negative (short position)
        AggtBal/Qty/Qty/Unit               aggregate units
        AvlblBal/Qty/Qty/Unit              available units
        BalBrkdwn/SubBalTp/Cd              BLOK (blocked) or PEND (pending delivery), with
        BalBrkdwn/Qty/Qty/Qty/Unit           their units; other sub-balance types are skipped

Only Unit quantities are accepted (FaceAmt and AmtsdVal are bond amounts).

The XML is read with the standard library's expat parser (the parser under
xml.etree) rather than ElementTree itself, because expat reports the line each element
starts on and every error here names a line. A DOCTYPE is refused outright: without
one no entity can be declared, so entity-expansion ("billion laughs") and external
entity attacks have nothing to work with.
"""

import hashlib
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from xml.parsers import expat

from custody.statements.errors import StatementParseError
from custody.statements.fields import decode_text, isin_on_line, plain_decimal
from custody.statements.model import Holding, Statement, StatementFormat

_SEMT002_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:semt\.002\.001\.\d{2}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?")
_MAX_DEPTH = 64  # semt.002 nests about 10 deep; the limit keeps hostile nesting cheap


@dataclass
class _Element:
    namespace: str
    name: str
    line: int
    children: list["_Element"] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.text_parts).strip()

    def all_named(self, name: str) -> list["_Element"]:
        return [child for child in self.children if child.name == name and child.namespace == self.namespace]

    def find(self, path: str) -> "_Element | None":
        """The element at a slash-separated path of single (non-repeating) children."""
        deepest, missing = self._walk(path)
        return None if missing else deepest

    def require(self, path: str) -> "_Element":
        """Like find, but a missing element is an error at the deepest element that exists."""
        deepest, missing = self._walk(path)
        if missing:
            raise StatementParseError(deepest.line, f"{deepest.name} has no {missing}")
        return deepest

    def _walk(self, path: str) -> tuple["_Element", str]:
        """The deepest element reached along the path, and the part of the path not found."""
        element = self
        names = path.split("/")
        for depth, name in enumerate(names):
            matches = element.all_named(name)
            if len(matches) > 1:
                raise StatementParseError(matches[1].line, f"{name} appears more than once in {element.name}")
            if not matches:
                return element, "/".join(names[depth:])
            element = matches[0]
        return element, ""


def parse_semt002(data: bytes) -> Statement:
    """Read a semt.002 custody statement of holdings into a Statement."""
    decode_text(data)  # same UTF-8 and control-character rules as the other formats
    report = _document(_xml_tree(data)).require("SctiesBalCtdyRpt")
    _check_single_page(report)
    general = report.require("StmtGnlDtls")
    update_type = general.find("UpdTp/Cd")
    if update_type is not None and update_type.text == "DELT":
        raise StatementParseError(
            update_type.line, "UpdTp DELT: a delta statement lists changes only, not full holdings"
        )
    statement_date, as_of = _statement_time(general.require("StmtDtTm"))
    account = report.require("SfkpgAcct/Id")
    if not account.text:
        raise StatementParseError(account.line, "SfkpgAcct/Id is empty")
    sub_accounts = report.all_named("SubAcctDtls")
    if sub_accounts:
        raise StatementParseError(
            sub_accounts[0].line, "SubAcctDtls: sub-account statements are not supported; send one per account"
        )
    holdings: list[Holding] = []
    isin_lines: dict[str, int] = {}
    for balance in report.all_named("BalForAcct"):
        holding, isin_line = _holding(balance)
        if holding.isin in isin_lines:
            raise StatementParseError(
                isin_line,
                f"ISIN {holding.isin} appears twice in this statement (first on line {isin_lines[holding.isin]})",
            )
        isin_lines[holding.isin] = isin_line
        holdings.append(holding)
    return Statement(StatementFormat.SEMT002, account.text, statement_date, as_of, tuple(holdings),
                     hashlib.sha256(data).hexdigest())


def _xml_tree(data: bytes) -> _Element:
    """Parse with expat into _Elements that remember their line; DOCTYPE refused."""
    parser = expat.ParserCreate(encoding="UTF-8", namespace_separator=" ")
    open_elements: list[_Element] = []
    roots: list[_Element] = []

    def start_element(qualified_name: str, _attributes: dict[str, str]) -> None:
        if len(open_elements) >= _MAX_DEPTH:
            raise StatementParseError(parser.CurrentLineNumber, f"XML nested deeper than {_MAX_DEPTH} elements")
        namespace, _, name = qualified_name.rpartition(" ")
        element = _Element(namespace, name, parser.CurrentLineNumber)
        (open_elements[-1].children if open_elements else roots).append(element)
        open_elements.append(element)

    def end_element(_qualified_name: str) -> None:
        open_elements.pop()

    def character_data(text: str) -> None:
        if open_elements:
            open_elements[-1].text_parts.append(text)

    def refuse_doctype(*_details: object) -> None:
        raise StatementParseError(
            parser.CurrentLineNumber, "DOCTYPE is not allowed in a statement (entity expansion risk)"
        )

    parser.StartElementHandler = start_element
    parser.EndElementHandler = end_element
    parser.CharacterDataHandler = character_data
    parser.StartDoctypeDeclHandler = refuse_doctype
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise StatementParseError(error.lineno, f"not well-formed XML: {expat.ErrorString(error.code)}") from None
    return roots[0]


def _document(root: _Element) -> _Element:
    """The semt.002 Document: the root itself or the first one inside an envelope."""
    queue = deque([root])
    while queue:
        element = queue.popleft()
        if element.name == "Document" and _SEMT002_NAMESPACE.fullmatch(element.namespace):
            return element
        queue.extend(element.children)
    found = f"found {root.name} in namespace {root.namespace!r}" if root.namespace else f"found {root.name}"
    raise StatementParseError(
        root.line,
        f"not a semt.002 message: no Document in namespace urn:iso:std:iso:20022:tech:xsd:semt.002.001.NN ({found})",
    )


def _check_single_page(report: _Element) -> None:
    pagination = report.find("Pgntn")
    if pagination is None:
        return
    page = pagination.require("PgNb").text
    last_page = pagination.require("LastPgInd").text
    if page.lstrip("0") != "1" or last_page not in ("true", "1"):
        raise StatementParseError(
            pagination.line,
            f"page {page[:10]} (LastPgInd {last_page[:10]}) of a multi-page statement; "
            "combine the pages into one statement before import",
        )


def _statement_time(date_choice: _Element) -> tuple[date, datetime | None]:
    """StmtDtTm holds either Dt (ISO date) or DtTm (ISO date-time, optional offset)."""
    date_only = date_choice.find("Dt")
    date_time = date_choice.find("DtTm")
    try:
        if date_only is not None and _ISO_DATE.fullmatch(date_only.text):
            return date.fromisoformat(date_only.text), None
        if date_time is not None and _ISO_DATE_TIME.fullmatch(date_time.text):
            as_of = datetime.fromisoformat(date_time.text)
            return as_of.date(), as_of
    except ValueError:
        pass
    given = date_only if date_only is not None else date_time
    if given is None:
        raise StatementParseError(date_choice.line, "StmtDtTm has neither Dt nor DtTm")
    raise StatementParseError(given.line, f"statement date {given.text[:40]!r} is not an ISO date or date-time")


def _holding(balance: _Element) -> tuple[Holding, int]:
    """One BalForAcct as a Holding, and the line of its ISIN."""
    isin_element = balance.require("FinInstrmId/ISIN")
    isin = isin_on_line(isin_element.text, isin_element.line)
    description = balance.find("FinInstrmId/Desc")
    aggregate_balance = balance.require("AggtBal")
    aggregate = _units(aggregate_balance.require("Qty/Qty"), "AggtBal")
    short_long = aggregate_balance.find("ShrtLngInd")
    if short_long is not None and short_long.text not in ("SHOR", "LONG"):
        raise StatementParseError(short_long.line, f"ShrtLngInd {short_long.text[:10]!r} is neither SHOR nor LONG")
    if short_long is not None and short_long.text == "SHOR" and aggregate != 0:
        aggregate = -aggregate
    available_balance = balance.find("AvlblBal")
    available = None
    if available_balance is not None:
        _refuse_short(available_balance, "AvlblBal")
        available = _units(available_balance.require("Qty/Qty"), "AvlblBal")
    sub_balances = _sub_balances(balance)
    holding = Holding(
        isin=isin,
        description=description.text if description is not None else "",
        aggregate=aggregate,
        available=available,
        blocked=sub_balances.get("BLOK"),
        pending=sub_balances.get("PEND"),
    )
    return holding, isin_element.line


def _sub_balances(balance: _Element) -> dict[str, Decimal]:
    """BLOK and PEND quantities from the BalBrkdwn entries."""
    found: dict[str, tuple[Decimal, int]] = {}
    for breakdown in balance.all_named("BalBrkdwn"):
        code = breakdown.find("SubBalTp/Cd")
        if code is None or code.text not in ("BLOK", "PEND"):
            continue
        if code.text in found:
            raise StatementParseError(
                code.line, f"a second {code.text} sub-balance for this security (first on line {found[code.text][1]})"
            )
        _refuse_short(breakdown.require("Qty"), code.text)
        found[code.text] = (_units(breakdown.require("Qty/Qty/Qty"), code.text), code.line)
    return {code: quantity for code, (quantity, _) in found.items()}


def _refuse_short(balance: _Element, what: str) -> None:
    indicator = balance.find("ShrtLngInd")
    if indicator is not None and indicator.text != "LONG":
        raise StatementParseError(indicator.line, f"{what} ShrtLngInd must be LONG: only the aggregate may be short")


def _units(quantity_choice: _Element, what: str) -> Decimal:
    """The Unit inside a FinancialInstrumentQuantity choice; other quantity kinds are refused."""
    unit = quantity_choice.find("Unit")
    if unit is None:
        kinds = ", ".join(child.name for child in quantity_choice.children) or "nothing"
        raise StatementParseError(quantity_choice.line, f"{what} quantity is {kinds}; only Unit (shares) is supported")
    return plain_decimal(unit.text, unit.line, f"{what} Unit")
