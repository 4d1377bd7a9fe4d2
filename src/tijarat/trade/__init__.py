"""Trade: catalog, marketplace orders, escrow, shipments, export paperwork and proceeds."""
