"""Predicted recovery score: each abandoned checkout's likelihood of recovery, learned per store."""
