"""Stage 4, driving a connection: the transport interface, the in-process ASGI driver, the loop thread."""
