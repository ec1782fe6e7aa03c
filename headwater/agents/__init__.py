"""Faust agents and the stages they run."""
