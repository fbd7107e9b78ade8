"""The API's interactive documentation, served from the installed packages alone."""
