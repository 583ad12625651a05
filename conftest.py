pytest_plugins = ["devinfra.fixtures"]
