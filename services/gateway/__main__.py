import sys

from services.gateway.config import GatewayDatabaseSettings, GatewaySettings

if "--health" in sys.argv[1:]:
    # The container healthcheck: asks the running gateway's /readyz without importing the app.
    from servicekit.health import http_exit_status, local_url

    settings = GatewaySettings()
    sys.exit(http_exit_status("gateway", local_url(settings.host, settings.port, "/readyz")))

if sys.argv[1:2] == ["migrate"]:
    from servicekit.migrations import migrate_exit_status
    from services.gateway.schema import SCHEMA

    sys.exit(migrate_exit_status(SCHEMA, GatewayDatabaseSettings().resolved_database_url()))

from services.gateway.app import main

main()
