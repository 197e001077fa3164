"""The command line: the entry point (fast path), the option table, the typer app, commands."""
