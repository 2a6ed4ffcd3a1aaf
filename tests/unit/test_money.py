

def test_add_scaled_keeps_the_finer_exponent_exactly() -> None:
    from sales_scorecard.core.money import add_scaled

    assert add_scaled(1999, -2, 5, -1) == (2049, -2)  # 19.99 + 0.5
    assert add_scaled(5, -1, 1999, -2) == (2049, -2)
    assert add_scaled(12, 0, -12, 0) == (0, 0)
    assert add_scaled(1, -3, 7, 2) == (700001, -3)  # 0.001 + 700


def test_a_plan_ratio_is_the_ratio_and_keeps_the_sign_of_a_zero() -> None:
    from decimal import Decimal

    from sales_scorecard.core.money import plan_ratio, ratio

    assert plan_ratio(Decimal("0.123456")) == 0.1235
    assert plan_ratio(Decimal("40")) == 40.0 == plan_ratio(Decimal("40.00"))
    assert str(plan_ratio(Decimal("0"))) == "0.0"
    assert str(plan_ratio(Decimal("-0"))) == "-0.0" == str(ratio(Decimal("-0")))


def test_adding_to_nothing_shares_the_amount_added() -> None:
    from sales_scorecard.core.money import add_scaled

    amount = 10**12 + 7  # an int no cache shares
    total, exponent = add_scaled(0, 0, amount, -2)
    assert (total, exponent) == (amount, -2) and total is amount  # the very int, not a copy
    # a zero that kept a finer exponent (amounts that cancelled) still scales what comes: 0.000 + 0.05
    assert add_scaled(0, -3, 5, -2) == (50, -3)
    # a coarser amount onto nothing at a finer exponent is scaled: 0.00 + 3 (units of 1)
    assert add_scaled(0, -2, 3, 0) == (300, -2)


def test_from_scaled_is_the_decimal_the_units_stand_for_with_their_exponent() -> None:
    from decimal import Decimal

    from sales_scorecard.core.money import from_scaled

    assert from_scaled(2049, -2) == Decimal("20.49") and from_scaled(2049, -2).as_tuple().exponent == -2
    assert str(from_scaled(-500, -2)) == "-5.00"  # the exponent kept: 5.00, not 5
    assert from_scaled(0, 0) == Decimal(0) and str(from_scaled(7, 3)) == "7E+3"
