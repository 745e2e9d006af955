"""Super-admin operations: dead-lettered messages and their replay."""
