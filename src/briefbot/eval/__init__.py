"""`briefbot eval`: the LLM stage measured on gold nights.

A gold night (`gold`) is a brief version, the night's items with a gold label each, and what the
proposal must and must not carry. The runner (`runner`) sends a night through the real triage and
propose code and the pure merger, against whatever endpoint is configured, in a throwaway state
folder; the metrics (`metrics`) are pure functions of the night and what came back, counted into
a `score.Score` that sums over nights and makes the figures; `results`
saves a run with the fingerprint of its models, prompts and settings, and compares two.
"""
