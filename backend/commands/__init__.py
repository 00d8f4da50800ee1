"""The ``officemap`` commands, one module per group; ``backend.cli`` assembles them.

``common``: messages, database URLs, uvicorn; ``prepare``: schema, audit seal, demo and the
steps derived from the register after it loads (in a fixed order).
"""
