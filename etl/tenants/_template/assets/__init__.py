"""This tenant's custom code: transfer functions referenced from config.yaml."""
