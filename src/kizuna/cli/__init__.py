"""The `kizuna` command line: thin Typer commands over the library (no decisions here)."""
