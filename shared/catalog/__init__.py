"""The synced catalog as merchants browse it: products, orders and customers."""
