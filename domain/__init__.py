"""Concord's rules of joint decision-making, pure: no Temporal, no SQL, no I/O."""
