"""The app side: discovering an ASGI app's routes, what its handlers' types say, the faults app code can raise."""
