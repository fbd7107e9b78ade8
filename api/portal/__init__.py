"""The portal: Concord in a browser, served by the API's process on the same principals and
rules (server-rendered pages, forms that work without JavaScript)."""
