import hashlib
from dataclasses import FrozenInstanceError
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.statements import (
    Holding,
    Statement,
    StatementFormat,
    StatementParseError,
    parse_csv,
    parse_mt535,
    parse_semt002,
    parse_statement,
)

FIXTURES = Path(__file__).parent / "fixtures"
VALID_FIXTURES = ["mt535_statement.fin", "mt535_raw_body.txt", "csv_statement.csv", "semt002_statement.xml"]
FUZZ_SETTINGS = settings(max_examples=300, deadline=None, database=None)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse_fixture(name: str) -> Statement:
    return parse_statement(fixture_bytes(name), name)


def holdings_by_isin(statement: Statement) -> dict[str, Holding]:
    return {holding.isin: holding for holding in statement.holdings}


# A small MT535 body assembled in tests; line numbers in expectations count from :16R:GENL = 1.
GENERAL_BLOCK = """\
:16R:GENL
:20C::SEME//T1
:23G:NEWM
:98A::STAT//20251124
:97A::SAFE//ACCT-1
:16S:GENL
"""


def mt535(*securities: str, general: str = GENERAL_BLOCK) -> bytes:
    """An MT535 body: GENL, then one SUBSAFE holding the given FIN blocks."""
    subsafe = ":16R:SUBSAFE\n" + "".join(securities) + ":16S:SUBSAFE\n" if securities else ""
    return (general + subsafe + "-\n").encode()


def security(isin: str = "US0378331005", *balances: str) -> str:
    lines = [":16R:FIN", f":35B:ISIN {isin}", *(balances or (":93B::AGGR//UNIT/10,",)), ":16S:FIN"]
    return "\n".join(lines) + "\n"


# --- MT535 --------------------------------------------------------------------------------

def test_mt535_full_fin_message_gives_every_balance_exactly():
    statement = parse_fixture("mt535_statement.fin")

    assert statement.format == StatementFormat.MT535
    assert statement.account_ref == "ACME-CUST-001"
    assert statement.statement_date == date(2025, 11, 24)
    assert statement.as_of == datetime(2025, 11, 24, 17, 30, 0)
    assert statement.source_sha256 == hashlib.sha256(fixture_bytes("mt535_statement.fin")).hexdigest()
    assert statement.holdings == (
        Holding("US0378331005", "APPLE INC COMMON STOCK", Decimal("1500"), Decimal("1200"), Decimal("200"),
                Decimal("100")),
        Holding("US88160R1014", "TESLA INC", Decimal("250.5"), Decimal("250.5"), None, None),
        Holding("US5949181045", "MICROSOFT CORP", Decimal("75"), Decimal("0"), Decimal("75"), None),
    )


def test_mt535_security_identified_by_cusip_is_booked_under_its_us_isin():
    assert "US5949181045" in holdings_by_isin(parse_fixture("mt535_statement.fin"))


def test_mt535_raw_body_with_sub_balances_straight_in_fin_and_a_short_position():
    statement = parse_fixture("mt535_raw_body.txt")

    assert statement.account_ref == "ACME-CUST-002"  # from 97B ::SAFE//CEND/ACME-CUST-002
    assert statement.statement_date == date(2025, 11, 21)
    assert statement.as_of is None
    amazon, alphabet = statement.holdings
    assert amazon == Holding("US0231351067", "AMAZON.COM INC", Decimal("40"), Decimal("25"), Decimal("10"),
                             Decimal("5"))
    assert alphabet.aggregate == Decimal("-12")


def test_mt535_reads_the_same_with_crlf_or_lf_line_endings():
    crlf = fixture_bytes("mt535_statement.fin")
    assert b"\r\n" in crlf
    from_lf = parse_mt535(crlf.replace(b"\r\n", b"\n"))
    assert from_lf.holdings == parse_mt535(crlf).holdings


def test_mt535_98e_statement_time_keeps_its_utc_offset():
    general = GENERAL_BLOCK.replace(":98A::STAT//20251124", ":98E::STAT//20251124173000,250/N05")
    statement = parse_mt535(mt535(security(), general=general))
    assert statement.as_of == datetime(2025, 11, 24, 17, 30, 0, 250000, tzinfo=timezone(timedelta(hours=-5)))


def test_mt535_statement_with_no_activity_has_no_holdings():
    statement = parse_mt535(mt535(general=GENERAL_BLOCK.replace(":16S:GENL", ":17B::ACTI//N\n:16S:GENL")))
    assert statement.holdings == ()


def test_mt535_decimal_comma_quantities_are_exact():
    statement = parse_mt535(mt535(security("US0378331005", ":93B::AGGR//UNIT/0,000000001")))
    assert statement.holdings[0].aggregate == Decimal("0.000000001")


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("mt535_truncated.fin",
         "line 38: file ends inside the FIN block opened on line 31 (missing :16S:FIN); truncated?"),
        ("mt535_bad_isin.fin", "line 32: ISIN US88160R1015 has check digit 5, expected 4"),
        ("mt535_non_numeric_quantity.fin",
         "line 37: AGGR balance '25O,5' is not a SWIFT quantity such as 1500, or 12,5 "
         "(decimal comma, at most 15 characters)"),
        ("mt535_missing_date.fin",
         "line 14: statement has no statement date (:98A::STAT// or :98C::STAT//)"),
    ],
)
def test_malformed_mt535_fixture_is_refused_at_the_line_that_shows_why(fixture, expected):
    with pytest.raises(StatementParseError) as refused:
        parse_fixture(fixture)
    assert str(refused.value) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (mt535(security("US0378331005"), security("us0378331005")),
         "line 13: ISIN US0378331005 appears twice in this statement (first on line 9)"),
        (mt535(security("US0378331005", ":93B::AGGR//UNIT/10,", ":93B::AGGR//UNIT/11,")),
         "line 11: a second AGGR balance for this security (first on line 10)"),
        (mt535(security("US0378331005", ":93B::AVAI//UNIT/10,")),
         "line 11: security US0378331005 has no aggregate balance (:93B::AGGR//)"),
        (mt535(security("US0378331005", ":93B::AGGR//UNIT/10,", ":93B::AVAI//UNIT/N1,")),
         "line 11: negative AVAI balance: only the aggregate balance may be short"),
        (mt535(security("US0378331005", ":93B::AGGR//FAMT/1000,")),
         "line 10: :93B: AGGR balance must be in units, like :93B::AGGR//UNIT/1500,"),
        (mt535(security("US0378331005", ":93B::AGGR//UNIT/N0,")),
         "line 10: AGGR balance is zero but carries the negative sign N"),
        (mt535(security("US0378331005", ":93B::AGGR//UNIT/1234567890123456,")),
         "line 10: AGGR balance '1234567890123456,' is not a SWIFT quantity such as 1500, or 12,5 "
         "(decimal comma, at most 15 characters)"),
        (mt535(":16R:FIN\n:93B::AGGR//UNIT/1,\n:16S:FIN\n"),
         "line 10: security opened on line 8 has no :35B: identification"),
        (mt535(":16R:FIN\n:35B:/GB/0263494\nBAE SYSTEMS\n:93B::AGGR//UNIT/1,\n:16S:FIN\n"),
         "line 9: 35B '/GB/0263494' has no ISIN (expected 'ISIN ...' or '/US/' + CUSIP)"),
        (mt535(security().replace(":16S:FIN", ":16S:SUBSAFE")),
         "line 11: :16S:SUBSAFE does not close the open FIN block (opened on line 8)"),
        (mt535(general=GENERAL_BLOCK.replace(":97A::SAFE//ACCT-1\n", "")),
         "line 5: statement has no safekeeping account (:97A::SAFE//)"),
        (mt535(general=GENERAL_BLOCK.replace("NEWM", "CANC")),
         "line 3: 23G CANC cancels an earlier statement; it holds no holdings"),
        (mt535(general=GENERAL_BLOCK.replace(":16S:GENL", ":22F::CODE//DELT\n:16S:GENL")),
         "line 6: 22F CODE//DELT: a delta statement lists changes only, not full holdings"),
        (mt535(general=GENERAL_BLOCK.replace(":20C", ":28E:00001/MORE\n:20C")),
         "line 2: page 1 (MORE) of a multi-page statement; combine the pages into one statement before import"),
        (mt535(general=GENERAL_BLOCK.replace("20251124", "20251131")),
         "line 4: statement date '20251131' is not a real date and time"),
        (mt535(":16R:SUBSAFE\n", general=GENERAL_BLOCK),
         "line 8: block SUBSAFE cannot start inside SUBSAFE"),
        (mt535(security()).replace(b":16R:SUBSAFE\n", b":16R:SUBSAFE\n:97A::SAFE//OTHER\n"),
         "line 8: sub-safekeeping account differs from statement account ACCT-1; "
         "consolidated statements are not supported"),
        (b":20C::SEME//X\n", "line 1: an MT535 must start with :16R:GENL"),
        (mt535(security("US0378331005", ":93B::AGGR//UNIT/10,\n5")),
         "line 11: text continues the one-line field :93B: from line 10"),
        (b":16R:GENL\n:98A:STAT//20251124\n:16S:GENL\n",
         "line 2: :98A: value 'STAT//20251124' is not of the form :QUAL//value"),
        (b":16R:GENL\n:20C::SEME//X\n", "line 2: file ends inside the GENL block opened on line 1 (missing :16S:GENL); "
                                       "truncated?"),
        (b":16R:GENL\nhello\n", "line 2: text continues the one-line field :16R: from line 1"),
        (b"{1:F01X}{2:O5351200}{4:\n" + mt535(security()).replace(b"-\n", b""),
         "line 13: message text block {4: is not closed by '-}' (file truncated?)"),
        (b"{1:F01X}{2:O9401200}{4:\n:20:X\n-}", "line 1: message type MT940 is not an MT535 statement of holdings"),
        (b"{1:F01X}{4:\n" + mt535(security()).replace(b"-\n", b"-}\n{1:F01X}{4:\n"),
         "line 15: a second message follows; send one statement per file"),
    ],
)
def test_malformed_mt535_is_refused_with_line_and_reason(body, expected):
    with pytest.raises(StatementParseError) as refused:
        parse_mt535(body)
    assert str(refused.value) == expected


# --- CSV ----------------------------------------------------------------------------------

CSV_HEADER_LINE = "account,statement_date,isin,description,aggregate,available,blocked,pending\n"


def test_csv_statement_gives_every_balance_exactly_and_empty_cells_as_not_reported():
    statement = parse_fixture("csv_statement.csv")

    assert statement.format == StatementFormat.CSV
    assert statement.account_ref == "ACME-CUST-003"
    assert statement.statement_date == date(2025, 11, 24)
    assert statement.as_of is None
    assert statement.holdings == (
        Holding("US0378331005", "APPLE INC, COMMON STOCK", Decimal("1500"), Decimal("1200"), Decimal("200"),
                Decimal("100")),
        Holding("US88160R1014", "TESLA INC", Decimal("250.5"), Decimal("250.5"), None, None),
        Holding("US5949181045", 'MICROSOFT "MSFT" CORP', Decimal("0.125"), None, None, None),
    )


def test_csv_written_by_excel_with_bom_and_crlf_reads_the_same():
    plain = fixture_bytes("csv_statement.csv")
    excel = b"\xef\xbb\xbf" + plain.replace(b"\n", b"\r\n")
    assert parse_csv(excel).holdings == parse_csv(plain).holdings


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("csv_bad_isin.csv", "line 3: ISIN US88160R1041 has check digit 1, expected 8"),
        ("csv_non_numeric_quantity.csv",
         "line 3: aggregate '250.5 shares' is not a plain unsigned decimal such as 1500 or 12.5 "
         "(at most 18 digits before the point, 17 after)"),
        ("csv_missing_date.csv", "line 3: statement_date '' is not an ISO date YYYY-MM-DD"),
    ],
)
def test_malformed_csv_fixture_is_refused_at_the_line_that_shows_why(fixture, expected):
    with pytest.raises(StatementParseError) as refused:
        parse_fixture(fixture)
    assert str(refused.value) == expected


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("A,2025-11-24,US0378331005,,1,,,\nA,2025-11-24,US0378331005,,2,,,\n",
         "line 3: ISIN US0378331005 appears twice in this file (first on line 2)"),
        ("A,2025-11-24,US0378331005,,1,,,\nB,2025-11-24,US88160R1014,,2,,,\n",
         "line 3: account B differs from A on line 2: one account and date per file"),
        ("A,2025-11-24,US0378331005,,1,,,\nA,2025-11-25,US88160R1014,,2,,,\n",
         "line 3: statement_date 2025-11-25 differs from 2025-11-24 on line 2: one account and date per file"),
        ("A,2025-11-24,US0378331005,,-5,,,\n",
         "line 2: aggregate -5 is negative: the CSV format has no short positions"),
        ("A,2025-11-24,US0378331005,,1e3,,,\n",
         "line 2: aggregate '1e3' is not a plain unsigned decimal such as 1500 or 12.5 "
         "(at most 18 digits before the point, 17 after)"),
        ("A,2025-11-24,US0378331005,,,1,,\n", "line 2: aggregate is empty: every line must give the total units held"),
        ("A,24/11/2025,US0378331005,,1,,,\n", "line 2: statement_date '24/11/2025' is not an ISO date YYYY-MM-DD"),
        ("A,2025-11-24,US0378331005,1,,,\n",
         "line 2: expected 8 values (account,statement_date,isin,description,aggregate,available,blocked,pending)"
         ", found 7"),
        (",2025-11-24,US0378331005,,1,,,\n", "line 2: account is empty"),
        ('A,2025-11-24,US0378331005,"APPLE,1,,,\n', "line 2: malformed CSV: unexpected end of data"),
        ("", "line 1: no holdings after the header: list at least one security"),
    ],
)
def test_malformed_csv_is_refused_with_line_and_reason(rows, expected):
    with pytest.raises(StatementParseError) as refused:
        parse_csv((CSV_HEADER_LINE + rows).encode())
    assert str(refused.value) == expected


def test_csv_without_the_header_line_is_refused():
    with pytest.raises(StatementParseError, match="line 1: first line must be the header account,statement_date"):
        parse_csv(b"ACME,2025-11-24,US0378331005,,1,,,\n")


# --- semt.002 -----------------------------------------------------------------------------

def test_semt002_statement_gives_every_balance_exactly_and_short_positions_negative():
    statement = parse_fixture("semt002_statement.xml")

    assert statement.format == StatementFormat.SEMT002
    assert statement.account_ref == "ACME-CUST-004"
    assert statement.statement_date == date(2025, 11, 24)
    assert statement.as_of == datetime(2025, 11, 24, 17, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert statement.holdings == (
        Holding("US0378331005", "APPLE INC", Decimal("1500"), Decimal("1200"), Decimal("200"), Decimal("100")),
        Holding("US88160R1014", "TESLA INC", Decimal("250.5"), None, None, None),
        Holding("US5949181045", "", Decimal("-12"), None, None, None),
    )


def test_semt002_inside_a_business_message_envelope_is_found():
    document = fixture_bytes("semt002_statement.xml").split(b"?>", 1)[1]
    enveloped = (b'<BizMsg xmlns="urn:example:envelope"><AppHdr><BizMsgIdr>1</BizMsgIdr></AppHdr>'
                 + document + b"</BizMsg>")
    assert parse_semt002(enveloped).holdings == parse_fixture("semt002_statement.xml").holdings


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("semt002_truncated.xml", "line 49: not well-formed XML: no element found"),
        ("semt002_missing_date.xml", "line 10: StmtDtTm has neither Dt nor DtTm"),
        ("semt002_bad_isin.xml", "line 56: ISIN US88160R1013 has check digit 3, expected 4"),
        ("semt002_non_numeric_quantity.xml",
         "line 61: AggtBal Unit '250,5' is not a plain unsigned decimal such as 1500 or 12.5 "
         "(at most 18 digits before the point, 17 after)"),
    ],
)
def test_malformed_semt002_fixture_is_refused_at_the_line_that_shows_why(fixture, expected):
    with pytest.raises(StatementParseError) as refused:
        parse_fixture(fixture)
    assert str(refused.value) == expected


def semt002_variant(old: str, new: str) -> bytes:
    original = fixture_bytes("semt002_statement.xml").decode()
    assert old in original
    return original.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n<!ENTITY lol2 "&lol;&lol;&lol;&lol;">\n]>\n'
         b"<Document>&lol2;</Document>",
         "line 2: DOCTYPE is not allowed in a statement (entity expansion risk)"),
        (b'<?xml version="1.0"?>\n<!DOCTYPE d SYSTEM "file:///etc/passwd">\n<Document/>',
         "line 2: DOCTYPE is not allowed in a statement (entity expansion risk)"),
        (b"<a>" * 1000 + b"</a>" * 1000, "line 1: XML nested deeper than 64 elements"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"/>',
         "line 1: not a semt.002 message: no Document in namespace urn:iso:std:iso:20022:tech:xsd:semt.002.001.NN "
         "(found Document in namespace 'urn:iso:std:iso:20022:tech:xsd:camt.053.001.08')"),
        (semt002_variant("<Cd>COMP</Cd>", "<Cd>DELT</Cd>"),
         "line 14: UpdTp DELT: a delta statement lists changes only, not full holdings"),
        (semt002_variant("<LastPgInd>true</LastPgInd>", "<LastPgInd>false</LastPgInd>"),
         "line 4: page 1 (LastPgInd false) of a multi-page statement; "
         "combine the pages into one statement before import"),
        (semt002_variant("<Unit>250.5</Unit>", "<FaceAmt>250.5</FaceAmt>"),
         "line 61: AggtBal quantity is FaceAmt; only Unit (shares) is supported"),
        (semt002_variant("<ISIN>US88160R1014</ISIN>", "<ISIN>US0378331005</ISIN>"),
         "line 56: ISIN US0378331005 appears twice in this statement (first on line 24)"),
        (semt002_variant("<ShrtLngInd>LONG</ShrtLngInd>\n          <Qty><Qty><Unit>200",
                         "<ShrtLngInd>SHOR</ShrtLngInd>\n          <Qty><Qty><Unit>200"),
         "line 37: BLOK ShrtLngInd must be LONG: only the aggregate may be short"),
        (semt002_variant("</SfkpgAcct>", "</SfkpgAcct>\n<SubAcctDtls/>"),
         "line 22: SubAcctDtls: sub-account statements are not supported; send one per account"),
        (semt002_variant("<Id>ACME-CUST-004</Id>", ""), "line 19: SfkpgAcct has no Id"),
    ],
)
def test_malformed_semt002_is_refused_with_line_and_reason(document, expected):
    with pytest.raises(StatementParseError) as refused:
        parse_semt002(document)
    assert str(refused.value) == expected


# --- format detection and the model -------------------------------------------------------

@pytest.mark.parametrize(
    ("fixture", "expected_format"),
    [
        ("mt535_statement.fin", StatementFormat.MT535),
        ("mt535_raw_body.txt", StatementFormat.MT535),
        ("csv_statement.csv", StatementFormat.CSV),
        ("semt002_statement.xml", StatementFormat.SEMT002),
    ],
)
def test_format_is_recognised_from_content_whatever_the_file_is_called(fixture, expected_format):
    statement = parse_statement(fixture_bytes(fixture), "upload.dat")
    assert statement.format == expected_format
    assert statement.source_sha256 == hashlib.sha256(fixture_bytes(fixture)).hexdigest()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "line 1: stmt.dat is empty"),
        (b" \r\n\n", "line 1: stmt.dat is empty"),
        (b"\n\nISIN;Quantity\n", "line 3: stmt.dat is not a recognised statement: expected SWIFT MT535, semt.002 XML, "
                                 "or CSV starting with the header "
                                 "account,statement_date,isin,description,aggregate,available,blocked,pending"),
        (CSV_HEADER_LINE.encode() + b"ACME,2025-11-24,US0378331005,SOCI\xe9T\xe9,1,,,\n",
         "line 2: not UTF-8: byte 0xe9 cannot be decoded (statements must be UTF-8)"),
        (b":16R:GENL\n:20C::SEME//A\x00B\n", "line 2: control character U+0000 is not allowed"),
    ],
)
def test_unreadable_uploads_are_refused_with_a_clear_reason(data, expected):
    with pytest.raises(StatementParseError) as refused:
        parse_statement(data, "stmt.dat")
    assert str(refused.value) == expected


def test_parse_error_carries_line_and_message_separately_for_the_caller():
    with pytest.raises(StatementParseError) as refused:
        parse_fixture("mt535_bad_isin.fin")
    assert refused.value.line == 32
    assert refused.value.message == "ISIN US88160R1015 has check digit 5, expected 4"


def test_statements_are_immutable():
    statement = parse_fixture("csv_statement.csv")
    with pytest.raises(FrozenInstanceError):
        statement.holdings[0].aggregate = Decimal("1")


@pytest.mark.parametrize(
    "balances",
    [
        {"aggregate": 1.5},
        {"aggregate": Decimal("NaN")},
        {"aggregate": Decimal("1"), "blocked": Decimal("-1")},
        {"aggregate": Decimal("1"), "available": 1},
    ],
)
def test_holding_refuses_floats_non_numbers_and_negative_sub_balances(balances):
    values = {"available": None, "blocked": None, "pending": None, **balances}
    with pytest.raises(ValueError):
        Holding("US0378331005", "APPLE INC", **values)


# --- fuzzing: any input gives a Statement or a StatementParseError, nothing else ----------

def parse_or_refuse(data: bytes) -> None:
    try:
        statement = parse_statement(data, "fuzz.dat")
    except StatementParseError as refused:
        assert refused.line >= 1
        assert str(refused).startswith(f"line {refused.line}: ")
        return
    assert statement.source_sha256 == hashlib.sha256(data).hexdigest()
    assert all(isinstance(holding.aggregate, Decimal) for holding in statement.holdings)


FORMAT_OPENINGS = [b"", b"<", b"{1:", b":16R:GENL\n", CSV_HEADER_LINE.encode(),
                   b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:semt.002.001.12">']


@FUZZ_SETTINGS
@given(opening=st.sampled_from(FORMAT_OPENINGS), noise=st.binary(max_size=400))
def test_random_bytes_never_raise_anything_but_a_parse_error(opening, noise):
    parse_or_refuse(opening + noise)


SYNTAX_BYTES = list(b"0123456789,.-+N/:<>&;\"{}[] \n\rAZaz")


@st.composite
def mutated_fixture(draw) -> bytes:
    """A valid fixture with lines deleted or duplicated and bytes flipped, inserted or removed."""
    lines = fixture_bytes(draw(st.sampled_from(VALID_FIXTURES))).splitlines(keepends=True)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        operation = draw(st.sampled_from(["delete line", "duplicate line", "swap lines", "flip byte",
                                          "insert byte", "delete byte"]))
        if not lines:
            break
        index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        if operation == "delete line":
            del lines[index]
        elif operation == "duplicate line":
            lines.insert(index, lines[index])
        elif operation == "swap lines":
            other = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        else:
            line = lines[index]
            position = draw(st.integers(min_value=0, max_value=len(line)))
            replacement = bytes([draw(st.one_of(st.sampled_from(SYNTAX_BYTES), st.integers(0, 255)))])
            if operation == "flip byte":
                line = line[:position] + replacement + line[position + 1:]
            elif operation == "insert byte":
                line = line[:position] + replacement + line[position:]
            else:
                line = line[:position] + line[position + 1:]
            lines[index] = line
    return b"".join(lines)


@FUZZ_SETTINGS
@given(data=mutated_fixture())
def test_damaged_statement_files_never_raise_anything_but_a_parse_error(data):
    parse_or_refuse(data)


@FUZZ_SETTINGS
@given(
    fixture=st.sampled_from(VALID_FIXTURES),
    character=st.sampled_from([",", ".", "-", "N", "/", ":", "0", "9", "<", ">", "&", '"', "{", "}", "\r", " ",
                               "\u00e9", "\u2028"]),
    position=st.floats(min_value=0, max_value=1),
)
def test_statement_files_with_a_syntax_character_inserted_anywhere_never_crash(fixture, character, position):
    original = fixture_bytes(fixture)
    at = int(position * len(original))
    parse_or_refuse(original[:at] + character.encode() + original[at:])
