"""The result model of a run and the reports written from it."""
