"""Investment advice: the risk questionnaire, strategic asset allocation, goal planning, portfolio monitoring
and rebalancing, and the suitability report.

The maths (`optimiser`, `goals`, `rebalancing`, `estimation`) is pure numpy/scipy and knows nothing of Django;
`advisor.investing.services` composes it with the customer's data and stores what was advised.
"""
