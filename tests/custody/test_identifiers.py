import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.identifiers import InvalidIdentifier, cusip_to_us_isin, validate_cusip, validate_isin

REAL_ISINS = {
    "US0378331005": "Apple",
    "US88160R1014": "Tesla",
    "US5949181045": "Microsoft",
    "US0231351067": "Amazon",
    "US02079K3059": "Alphabet class A",
    "IE00B4L5Y983": "iShares Core MSCI World",
    "DE0007164600": "SAP",
    "US78462F1030": "SPDR S&P 500 ETF",
}
REAL_CUSIPS = {
    "037833100": "US0378331005",
    "88160R101": "US88160R1014",
    "594918104": "US5949181045",
    "023135106": "US0231351067",
    "02079K305": "US02079K3059",
}
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.mark.parametrize("isin", REAL_ISINS)
def test_real_isins_are_accepted_unchanged(isin):
    assert validate_isin(isin) == isin


@pytest.mark.parametrize("isin", REAL_ISINS)
def test_every_wrong_check_digit_on_a_real_isin_is_refused_naming_the_right_one(isin):
    for wrong_digit in "0123456789".replace(isin[-1], ""):
        with pytest.raises(InvalidIdentifier, match=f"has check digit {wrong_digit}, expected {isin[-1]}"):
            validate_isin(isin[:-1] + wrong_digit)


def test_isin_typed_in_lower_case_with_spaces_is_normalized():
    assert validate_isin("  us0378331005\n") == "US0378331005"


@pytest.mark.parametrize(
    "not_an_isin",
    ["", "US037833100", "US03783310055", "1S0378331005", "US037833100X", "US-378331005", "US0378331005 X"],
)
def test_strings_not_shaped_like_an_isin_are_refused(not_an_isin):
    with pytest.raises(InvalidIdentifier, match="is not an ISIN"):
        validate_isin(not_an_isin)


def test_invalid_identifier_is_a_value_error_for_callers_that_only_catch_that():
    with pytest.raises(ValueError):
        validate_isin("US0378331006")


@pytest.mark.parametrize(("cusip", "isin"), REAL_CUSIPS.items())
def test_real_cusips_are_accepted_and_convert_to_their_published_us_isin(cusip, isin):
    assert validate_cusip(cusip) == cusip
    assert cusip_to_us_isin(cusip) == isin


def test_cusip_with_wrong_check_digit_is_refused_naming_the_right_one():
    with pytest.raises(InvalidIdentifier, match="CUSIP 037833101 has check digit 1, expected 0"):
        validate_cusip("037833101")


@pytest.mark.parametrize("not_a_cusip", ["", "03783310", "0378331000", "03783310X", "0378-3100"])
def test_strings_not_shaped_like_a_cusip_are_refused(not_a_cusip):
    with pytest.raises(InvalidIdentifier, match="is not a CUSIP"):
        validate_cusip(not_a_cusip)


def test_cusip_to_isin_refuses_a_bad_cusip_instead_of_inventing_an_isin():
    with pytest.raises(InvalidIdentifier):
        cusip_to_us_isin("037833109")


def test_private_placement_cusip_with_special_characters_is_valid_but_has_no_isin():
    private_placement_cusip = "0378*3100"
    check_digit = next(d for d in "0123456789" if _accepts_cusip(private_placement_cusip[:8] + d))
    with pytest.raises(InvalidIdentifier, match="which an ISIN cannot hold"):
        cusip_to_us_isin(private_placement_cusip[:8] + check_digit)


def _accepts_cusip(cusip):
    try:
        validate_cusip(cusip)
    except InvalidIdentifier:
        return False
    return True


@settings(max_examples=300, deadline=None, database=None)
@given(
    country=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    national_code=st.text(alphabet=ALPHANUMERIC, min_size=9, max_size=9),
)
def test_exactly_one_check_digit_completes_any_isin_body(country, national_code):
    body = country + national_code
    accepted = []
    for digit in "0123456789":
        try:
            accepted.append(validate_isin(body + digit))
        except InvalidIdentifier:
            pass
    assert len(accepted) == 1


@settings(max_examples=300, deadline=None, database=None)
@given(body=st.text(alphabet=ALPHANUMERIC + "*@#", min_size=8, max_size=8))
def test_exactly_one_check_digit_completes_any_cusip_body(body):
    accepted = [body + digit for digit in "0123456789" if _accepts_cusip(body + digit)]
    assert len(accepted) == 1


@settings(max_examples=300, deadline=None, database=None)
@given(body=st.text(alphabet=ALPHANUMERIC, min_size=8, max_size=8))
def test_the_us_isin_made_from_any_valid_cusip_validates_as_an_isin(body):
    cusip = next(body + digit for digit in "0123456789" if _accepts_cusip(body + digit))
    assert validate_isin(cusip_to_us_isin(cusip)) == "US" + cusip + cusip_to_us_isin(cusip)[-1]
