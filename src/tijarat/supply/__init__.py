"""Supply: suppliers, purchase orders, goods receipts, bills, inventory and valuation."""
