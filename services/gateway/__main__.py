import sys

from servicekit.process import check_arguments
from services.gateway.config import GatewayDatabaseSettings, GatewayListenSettings


def _main(argv: list[str]) -> None:
    check_arguments("gateway", argv)
    if argv == ["--health"]:
        # The container healthcheck: asks the running gateway's /readyz without importing the app.
        from servicekit.health import http_exit_status, local_url

        settings = GatewayListenSettings()
        sys.exit(http_exit_status("gateway", local_url(settings.host, settings.port, "/readyz")))
    if argv == ["migrate"]:
        from servicekit.migrations import migrate_exit_status
        from services.gateway.schema import SCHEMA

        sys.exit(migrate_exit_status(SCHEMA, GatewayDatabaseSettings().resolved_database_url()))
    from services.gateway.app import main

    main()


_main(sys.argv[1:])
