"""What students receive: release (labs/ from solutions/), the notebooks' stamp,
the published editions."""
