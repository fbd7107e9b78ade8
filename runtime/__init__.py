"""Runtime wiring: settings, logging, the Temporal client and the embedded dev server."""
