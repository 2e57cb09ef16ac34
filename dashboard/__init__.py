"""The Dash board: overview, warnings, enterprise, extension checks, guarantee circles and
sampling plans over the data home. Build it with :func:`dashboard.app.create_app`."""
