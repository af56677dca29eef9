"""The interactive explorer: a local web page to play with initialization x activation x depth.

Run it with ``kaiming explore`` (needs the optional extra ``kaiming[explorer]``: Starlette and
uvicorn). ``kaiming.explorer.server`` holds the app; importing this package imports nothing heavy.
"""
