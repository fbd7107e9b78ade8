"""Concord's HTTP API: each delegation, the secretariat and the auditors on their own channel."""
