"""Indian number grouping for every page: 12,34,567.50 (lakh and crore), as Indian traders read amounts.
`floatformat:"2g"` and `{% localize on %}` use it; dates stay Django's English formats."""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = (3, 2, 0)  # the last three digits, then groups of two
