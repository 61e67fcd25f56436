"""Applying for a product: the customer's reason read into needs, the automated checks (identity, suitability,
credit, affordability, needs fit), the outcome with reasons the customer can read, the staff queue for referred
applications, and opening the product once approved."""
