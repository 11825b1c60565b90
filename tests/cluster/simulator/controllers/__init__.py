"""The simulator's controllers: each module has ``run(ctx)`` (see ../core.py)."""
