"""The local host: serves function_app's functions without Azure Functions Core Tools. Not deployed."""
