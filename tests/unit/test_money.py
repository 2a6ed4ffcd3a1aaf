

def test_add_scaled_keeps_the_finer_exponent_exactly() -> None:
    from sales_scorecard.core.money import add_scaled

    assert add_scaled(1999, -2, 5, -1) == (2049, -2)  # 19.99 + 0.5
    assert add_scaled(5, -1, 1999, -2) == (2049, -2)
    assert add_scaled(12, 0, -12, 0) == (0, 0)
    assert add_scaled(1, -3, 7, 2) == (700001, -3)  # 0.001 + 700
