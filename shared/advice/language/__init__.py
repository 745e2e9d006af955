"""The language model side of the advisor: client, phraser, question answering, prompts and tools."""
