"""The document center: content-addressed storage of photos and videos (see ``store``)."""
