"""Collect: feeds and search providers into deduplicated candidate items.

`stage.collect` is the entry point; `feeds` and `search` turn fetched bytes into items (pure),
`dedupe` decides what is already held. Nothing is re-exported here: `store.items` imports
`collect.dedupe`, and a package that imported the stage would make that import circular.
"""
