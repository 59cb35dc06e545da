"""The night: `night` sequences the stages; `bookkeeping` is the one place a stage is timed,
recorded in the ledger and reported; `brief` is the per-brief stage (triage, propose, merge) in
named steps; `items` picks the items of the extract stage and runs it, and numbers a brief's
BatchItems; `report` is what a run prints and keeps."""
