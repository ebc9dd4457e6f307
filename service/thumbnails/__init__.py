"""Thumbnails of the images of an audit's samples."""
