

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
