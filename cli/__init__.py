"""The concord command line for operators, members and auditors: a thin adapter."""
