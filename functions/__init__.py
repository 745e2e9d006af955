"""Triggers: thin entry points that parse, call one service and map the result."""
