"""The service's apps: one package each, loaded when listed in settings.INSTALLED_APPS."""
