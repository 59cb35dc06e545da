"""The night: `night` sequences the stages and owns their bookkeeping; `brief` is the per-brief
stage (triage, propose, merge); `items` picks and batches the night's items; `report` is what a run
prints and keeps."""
