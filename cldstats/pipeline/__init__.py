"""The one orchestrator of a run: the submission store, locks, release placement, validation of a
folder, selection and row accounting, the manifest, the run log and timing.
"""
