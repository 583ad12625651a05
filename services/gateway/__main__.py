import sys

from services.gateway.config import GatewayDatabaseSettings, GatewaySettings

if "--health" in sys.argv[1:]:
    # The container healthcheck: asks the running gateway's /healthz without importing the app.
    from servicekit.health import http_exit_status

    settings = GatewaySettings()
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host
    sys.exit(http_exit_status("gateway", f"http://{host}:{settings.port}/healthz"))

if sys.argv[1:2] == ["migrate"]:
    from servicekit.migrations import migrate_exit_status
    from services.gateway.schema import SCHEMA

    sys.exit(migrate_exit_status(SCHEMA, GatewayDatabaseSettings().resolved_database_url()))

from services.gateway.app import main

main()
